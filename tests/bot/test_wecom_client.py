"""The desk's WeCom client and group robot, against the running WeCom simulator."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from bot.wecom_client import (
    MemoryTokenStorage,
    WebhookRobot,
    WeComClient,
    WeComError,
    split_utf8,
)
from config.settings import Settings
from tests.support.wecom_sim import WeComSimulator

USER = "jlu-zhangsan"


@pytest.fixture(scope="module")
def running_sim() -> Iterator[WeComSimulator]:
    with WeComSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(running_sim: WeComSimulator) -> WeComSimulator:
    running_sim.reset()
    return running_sim


@pytest.fixture
def client(sim: WeComSimulator) -> WeComClient:
    return WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base=sim.base_url, busy_backoff=0.01)


def _delivered_text(sim: WeComSimulator) -> str:
    return "".join(m.content or "" for m in sim.sent_messages if USER in m.delivered_to)


# ---- splitting ---------------------------------------------------------------------------


def test_split_keeps_short_text_whole() -> None:
    assert split_utf8("吉林大学：材料齐全。\n", 2048) == ["吉林大学：材料齐全。\n"]


def test_split_never_cuts_a_character_and_rejoins() -> None:
    rng = random.Random(7)
    alphabet = ["a", " ", "\n", "é", "学", "习", "之", "星", "🎓", "，"]
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        limit = rng.randint(4, 64)
        parts = split_utf8(text, limit)
        assert "".join(parts) == text
        assert all(len(p.encode("utf-8")) <= limit for p in parts)
        assert all(parts) or parts == [""]


def test_split_prefers_line_ends() -> None:
    lines = [f"第{i}位：百姓学习之星 推荐表缺少单位盖章。\n" for i in range(200)]
    parts = split_utf8("".join(lines), 2048)
    assert len(parts) > 1
    assert all(p.endswith("\n") for p in parts)  # no line is broken across two messages


# ---- tokens ------------------------------------------------------------------------------


def test_token_is_fetched_once_and_cached(sim: WeComSimulator, client: WeComClient) -> None:
    for i in range(3):
        client.send_text([USER], f"第{i}条")
    assert len(sim.token_requests) == 1
    assert len(sim.sent_messages) == 3


def test_expired_token_is_refreshed_once_transparently(sim: WeComSimulator, client: WeComClient) -> None:
    client.send_text([USER], "一")
    sim.expire_tokens()
    client.send_text([USER], "二")
    assert len(sim.token_requests) == 2
    assert _delivered_text(sim) == "一二"


def test_stale_token_in_shared_storage_is_replaced(sim: WeComSimulator) -> None:
    storage = MemoryTokenStorage()
    first = WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base=sim.base_url, session=storage)
    first.send_text([USER], "一")
    second = WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base=sim.base_url, session=storage)
    second.send_text([USER], "二")
    assert len(sim.token_requests) == 1  # the second client used the stored token
    storage.set(first._client.access_token_key, "left-over-from-yesterday", 7200)
    second.send_text([USER], "三")
    assert len(sim.token_requests) == 2
    assert _delivered_text(sim) == "一二三"


def test_persistent_bad_token_raises_instead_of_recursing(sim: WeComSimulator, client: WeComClient) -> None:
    sim.fail_next("message/send", 40014, times=50)
    with pytest.raises(WeComError) as err:
        client.send_text([USER], "你好")
    assert err.value.errcode == 40014
    assert len(sim.token_requests) == 2  # the first fetch and exactly one refresh
    assert sim.sent_messages == []


def test_bad_secret_is_a_clear_error(sim: WeComSimulator) -> None:
    client = WeComClient(sim.corp_id, "wrong-secret", sim.agent_id, api_base=sim.base_url)
    with pytest.raises(WeComError) as err:
        client.send_text([USER], "你好")
    assert err.value.errcode == 40001
    assert "wrong-secret" not in str(err.value)


def test_unreachable_api_is_a_wecom_error(sim: WeComSimulator) -> None:
    client = WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base="http://127.0.0.1:9/cgi-bin/", timeout=2)
    with pytest.raises(WeComError) as err:
        client.send_text([USER], "你好")
    assert err.value.errcode is None and sim.secret not in str(err.value)


def test_busy_is_retried_and_rate_limit_is_raised(sim: WeComSimulator, client: WeComClient) -> None:
    sim.fail_next("message/send", -1)
    client.send_text([USER], "繁忙后重试")
    assert _delivered_text(sim) == "繁忙后重试"
    sim.fail_next("message/send", 45009)
    with pytest.raises(WeComError) as err:
        client.send_text([USER], "频率超限")
    assert err.value.errcode == 45009


def test_api_base_comes_from_the_environment(sim: WeComSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMDESK_WECOM_API_BASE", sim.base_url)
    client = WeComClient(sim.corp_id, sim.secret, sim.agent_id)
    client.send_text([USER], "你好")
    assert client.api_base == sim.base_url
    assert len(sim.token_requests) == 1 and _delivered_text(sim) == "你好"


# ---- messages ----------------------------------------------------------------------------


def test_long_text_is_split_and_rejoins(sim: WeComSimulator, client: WeComClient) -> None:
    lines = [f"{i:03d} 延边州 百姓学习之星：照片分辨率不足，视频时长超出规定。\n" for i in range(120)]
    text = "".join(lines) + "末尾一段没有换行且很长：" + "终身学习" * 700
    results = client.send_text([USER, "jlu-lisi"], text)
    sent = sim.sent_messages
    assert len(results) == len(sent) > 2
    assert all(m.msgtype == "text" and len(m.content.encode("utf-8")) <= 2048 for m in sent)
    assert _delivered_text(sim) == text
    assert all(m.touser == [USER, "jlu-lisi"] and m.agent_id == sim.agent_id for m in sent)


def test_markdown_respects_the_limit(sim: WeComSimulator, client: WeComClient) -> None:
    text = "".join(f"- **单位{i}**：已提交 `3` 份材料\n" for i in range(200))
    client.send_markdown([USER], text)
    sent = sim.sent_messages
    assert len(sent) > 1 and all(m.msgtype == "markdown" for m in sent)
    assert all(len(m.content.encode("utf-8")) <= 2048 for m in sent)
    assert _delivered_text(sim) == text


def test_retried_send_is_deduplicated(sim: WeComSimulator, client: WeComClient) -> None:
    client.send_text([USER], "同一条回复")
    client.send_text([USER], "同一条回复")  # e.g. a retry after a lost answer
    assert [m.duplicate for m in sim.sent_messages] == [False, True]
    assert _delivered_text(sim) == "同一条回复"


def test_member_rate_limit_drop_is_visible(sim: WeComSimulator, client: WeComClient) -> None:
    for i in range(31):
        client.send_text([USER], f"提醒{i}")
    assert sum(USER in m.delivered_to for m in sim.sent_messages) == 30
    assert sim.sent_messages[-1].dropped_for == [USER]


def test_all_recipients_invalid_is_a_failure(sim: WeComSimulator, client: WeComClient) -> None:
    sim.members = {USER}
    try:
        with pytest.raises(WeComError) as info:
            client.send_text(["left-the-corp", "typo-id"], "提醒")
    finally:
        sim.members = None
    assert info.value.errcode == 81013
    assert not any(m.delivered_to for m in sim.sent_messages)


def test_some_recipients_invalid_is_logged(
    sim: WeComSimulator, client: WeComClient, caplog: pytest.LogCaptureFixture
) -> None:
    sim.members = {USER}
    try:
        with caplog.at_level("WARNING", logger="bot.wecom_client"):
            client.send_text([USER, "typo-id"], "提醒")
    finally:
        sim.members = None
    assert _delivered_text(sim) == "提醒"
    assert "1 of 2 recipients invalid" in caplog.text and "typo-id" in caplog.text


def test_wrong_agent_id_is_refused(sim: WeComSimulator) -> None:
    client = WeComClient(sim.corp_id, sim.secret, sim.agent_id + 1, api_base=sim.base_url)
    with pytest.raises(WeComError) as info:
        client.send_text([USER], "你好")
    assert info.value.errcode == 40056
    assert sim.sent_messages == []


def test_text_card(sim: WeComSimulator, client: WeComClient) -> None:
    client.send_text_card([USER], "材料核查结果", "吉林大学：2 项待补", "http://127.0.0.1/")
    assert sim.sent_messages[0].payload["textcard"]["title"] == "材料核查结果"


# ---- files -------------------------------------------------------------------------------


def test_upload_keeps_name_and_survives_expired_token(sim: WeComSimulator, client: WeComClient) -> None:
    data = bytes(range(256)) * 400
    client.send_text([USER], "先取得 token")
    sim.fail_next("media/upload", 42001)
    media_id = client.upload_file(
        "每日汇总.xlsx", data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    [uploaded] = sim.uploaded_media
    assert uploaded.media_id == media_id
    assert uploaded.filename == "每日汇总.xlsx" and uploaded.data == data
    assert uploaded.content_type.startswith("application/vnd.openxmlformats")
    assert len(sim.token_requests) == 2
    client.send_file([USER], media_id)
    assert sim.sent_messages[-1].payload["file"] == {"media_id": media_id}


def test_upload_rejects_empty_and_oversized_before_sending(sim: WeComSimulator, client: WeComClient) -> None:
    with pytest.raises(WeComError):
        client.upload_file("空.txt", b"")
    with pytest.raises(WeComError):
        client.upload_file("大.mp4", b"\0" * (20 * 1024 * 1024 + 1))
    assert sim.uploaded_media == []


def test_download_media(sim: WeComSimulator, client: WeComClient) -> None:
    media_id = sim.add_media("长春市 推荐材料.zip", b"PK\x03\x04zip-bytes", "application/zip")
    assert client.download_media(media_id) == ("长春市 推荐材料.zip", b"PK\x03\x04zip-bytes")
    sim.expire_tokens()
    assert client.download_media(media_id)[1] == b"PK\x03\x04zip-bytes"
    assert len(sim.token_requests) == 2
    with pytest.raises(WeComError) as err:
        client.download_media("no-such-media")
    assert err.value.errcode == 40007


# ---- group robot -------------------------------------------------------------------------


@pytest.fixture
def robot(sim: WeComSimulator) -> WebhookRobot:
    return WebhookRobot(sim.webhook_key, sim.base_url)


def test_robot_text_and_markdown(sim: WeComSimulator, robot: WebhookRobot) -> None:
    robot.send_text("今日新收材料 5 份", mentioned=["@all"])
    markdown = "".join(f"> 单位{i}：**已齐全**\n" for i in range(300))
    robot.send_markdown(markdown)
    text_msg, *md = sim.webhook_messages
    assert text_msg.content == "今日新收材料 5 份" and text_msg.payload["text"]["mentioned_list"] == ["@all"]
    assert len(md) > 1 and all(len(m.content.encode("utf-8")) <= 4096 for m in md)
    assert "".join(m.content for m in md) == markdown


def test_robot_cuts_a_flood(sim: WeComSimulator) -> None:
    robot = WebhookRobot(sim.webhook_key, sim.base_url, max_parts=3)
    robot.send_markdown("".join(f"- 第{i}条问题：照片不清晰\n" for i in range(2000)))
    messages = sim.webhook_messages
    assert len(messages) == 3
    assert all(len(m.content.encode("utf-8")) <= 4096 for m in messages)
    assert messages[-1].content.endswith("（内容较长，其余部分已省略）")


def test_robot_file(sim: WeComSimulator, robot: WebhookRobot) -> None:
    media_id = robot.upload_file("日报.xlsx", b"PK\x03\x04xlsx", "application/octet-stream")
    robot.send_file(media_id)
    assert sim.uploaded_media[0].filename == "日报.xlsx" and sim.uploaded_media[0].data == b"PK\x03\x04xlsx"
    assert sim.webhook_messages[0].payload == {"msgtype": "file", "file": {"media_id": media_id}}


def test_robot_bad_key(sim: WeComSimulator) -> None:
    robot = WebhookRobot("leaked-or-wrong-key", sim.base_url)
    with pytest.raises(WeComError) as err:
        robot.send_text("hi")
    assert err.value.errcode == 93000
    assert "leaked-or-wrong-key" not in str(err.value)
    assert sim.webhook_messages == []


def test_from_settings(sim: WeComSimulator) -> None:
    settings = Settings(
        wecom_corp_id=sim.corp_id,
        wecom_secret=sim.secret,
        wecom_agent_id=str(sim.agent_id),
        wecom_api_base=sim.base_url,
    )
    WeComClient.from_settings(settings).send_text([USER], "配置读取")
    assert _delivered_text(sim) == "配置读取"
    with pytest.raises(WeComError):
        WeComClient.from_settings(Settings(wecom_corp_id=None))
