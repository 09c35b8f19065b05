"""The WeCom bot end to end: the simulator sends encrypted callbacks as WeCom does, the desk answers.

A real `nomdesk` service (store, pipeline, outbox, HTTP) runs on a loopback port with the
two sample packages already processed; WeCom's API is the local simulator, whose crypto
is its own implementation checked against Tencent's vectors.
"""

from __future__ import annotations

import base64
import email
import email.policy
import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from nomdesk.service import Service
from tests.conftest import SHARED
from tests.support.service import serving_wecom, wait_until
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

CONTACT = "dinglijun"  # 长白山管委会教育科技局's contact in the shipped campaign
OTHER_CONTACT = "wufengxia"  # 延边朝鲜族自治州教育局's contact
OFFICE = "wuxiaohui"
SAMPLES = SHARED / "samples"
_msg_ids = itertools.count(int(time.time()) * 1000)


class Desk:
    def __init__(self, sim: WeComSimulator, service: Service, server: BackgroundServer) -> None:
        self.sim, self.service, self.server = sim, service, server
        self.url = server.url + "/wecom/callback"

    def ask(self, user: str, text: str, **kw) -> str:
        response = self.sim.send_callback(self.url, self.sim.text_message(user, text, next(_msg_ids)), **kw)
        assert response.status_code == 200, response.text
        return self.reply_text(response.text)

    def ask_all(self, user: str, text: str) -> str:
        """An answer with every further screen of it ("更多"), without the screens' footers."""
        screens = [self.ask(user, text)]
        while "回复「更多」查看下一屏" in screens[-1]:
            screens.append(self.ask(user, "更多"))
        return "\n".join(line for s in screens for line in s.splitlines() if not line.startswith("（第 "))

    def reply_text(self, body: str) -> str:
        if not body:
            return ""
        xml = self.sim.decrypt_passive_reply(body)
        return ET.fromstring(xml).findtext("Content") or ""

    def wait_for(self, predicate, timeout: float = 30.0):
        return wait_until(predicate, timeout, what="the desk")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data = tmp_path_factory.mktemp("bot-data")
    mails = [SAMPLES / case / "1.eml" for case in ("changbaishan_missing", "yanbian_complete")]
    with (
        WeComSimulator() as sim,
        serving_wecom(sim, data, mails, wecom_webhook_key=sim.webhook_key) as (service, server),
    ):
        yield Desk(sim, service, server)


def test_url_verification_answers_the_decrypted_echostr(desk: Desk) -> None:
    assert desk.sim.verify_url(desk.url, "1288432023552776189") == "1288432023552776189"


def test_contact_asks_status_of_their_own_unit(desk: Desk) -> None:
    answer = desk.ask(CONTACT, "我们的进度怎么样？")
    assert "长白山管委会教育科技局" in answer
    assert "百姓学习之星 7 名（要求 8-10）" in answer
    assert "需修改 4 项" in answer


def test_contact_asks_what_is_missing(desk: Desk) -> None:
    answer = desk.ask_all(CONTACT, "还缺什么")
    assert "宋丽萍" in answer and "联系电话" in answer
    assert "2分30秒" in answer  # the measured length of 池北书苑's video
    assert "12 张" in answer
    assert "金哲洙" not in answer  # another unit's nominee


def test_what_is_missing_says_how_to_fix_each_problem(desk: Desk) -> None:
    answer = desk.ask_all(CONTACT, "缺什么")
    assert "✗ 必须修改" in answer and "! 请核实" in answer  # the marks are explained
    lines = answer.splitlines()
    video = next(i for i, line in enumerate(lines) if "2分30秒" in line)
    # What is wrong, the measured value, then how to fix it, right below.
    assert lines[video].startswith("✗ ") and "池北书苑宣传视频.mp4" in lines[video]
    assert lines[video + 1].strip() == "修改建议：请报送 MP4 格式、时长 4-5 分钟的视频"
    photos = next(i for i, line in enumerate(lines) if "12 张" in line)
    assert "修改建议：" in lines[photos + 1] and "4-10 张" in lines[photos + 1]
    assert "长白山推荐材料/终身学习品牌项目" not in answer  # a file by its name, not its whole path


def test_a_contact_asking_about_their_own_unit_by_name_is_answered(desk: Desk) -> None:
    answer = desk.ask_all(CONTACT, "单位 长白山")
    assert "仅供省级办公室" not in answer
    assert "百姓学习之星 7 名（要求 8-10）" in answer and "宋丽萍" in answer and "修改建议" in answer
    assert desk.ask(CONTACT, "单位 长白山管委会教育科技局").startswith("长白山管委会教育科技局")


def test_checklist_and_deadline_come_from_the_campaign(desk: Desk) -> None:
    checklist = desk.ask(CONTACT, "清单")
    assert "8-10 名" in checklist and "5-8 个" in checklist and "1280×720" in checklist
    deadline = desk.ask(CONTACT, "截止时间")
    assert "2021年08月30日" in deadline


def test_help_and_unknown_text(desk: Desk) -> None:
    help_text = desk.ask(CONTACT, "帮助")
    assert "缺什么" in help_text and "可直接在本对话中发送文件" in help_text
    answer = desk.ask(CONTACT, "今天天气不错")
    assert "没有听懂" in answer and "状态" in answer and "0431-82857798" in answer


def test_a_contact_asks_about_one_nominee_by_name(desk: Desk) -> None:
    """A name alone (or in 繁体, or with the question) answers with that nominee's items, on one screen."""
    for text in ("宋丽萍", "宋麗萍？", "宋丽萍还缺啥"):
        answer = desk.ask(CONTACT, text)
        assert answer.startswith("百姓学习之星 宋丽萍：需修改 1 项"), answer
        assert "联系电话" in answer and "修改建议" in answer
        assert len(answer.splitlines()) <= 12 and len(answer) <= 600
        assert "池北书苑" not in answer and "金哲洙" not in answer  # her items only, her unit only
    assert "没有听懂" in desk.ask(CONTACT, "金哲洙")  # 延边's nominee is no name to 长白山's contact


def test_everyday_questions_of_a_contact(desk: Desk) -> None:
    assert "jlqmxx@126.com" in desk.ask(CONTACT, "怎么补交材料") and "本对话中发送文件" in desk.ask(CONTACT, "如何补报")
    assert "0431-82857798" in desk.ask(CONTACT, "人工客服")
    paper = desk.ask(CONTACT, "纸质材料寄到哪")
    assert "吉林省长春市宽城区北京大街62号710室" in paper and "仅供省级办公室" not in paper
    first = desk.ask(CONTACT, "缺什么")
    assert len(first.splitlines()) <= 12 and len(first) <= 600 and "需修改 4 项" in first


def test_contact_cannot_see_another_unit(desk: Desk) -> None:
    answer = desk.ask(CONTACT, "单位 延边州")
    assert "仅供省级办公室" in answer
    for name in ("金哲洙", "朴英子", "延边朝鲜族自治州教育局"):
        assert name not in answer
    assert desk.ask(CONTACT, "汇总").startswith("该命令仅供省级办公室使用")


def test_contact_wording_is_forgiven(desk: Desk) -> None:
    missing = desk.ask(CONTACT, "还有什么没交")  # about their own materials, not the office's 未交 list
    assert "宋丽萍" in missing and "仅供省级办公室" not in missing
    for text in ("单位状态", "单位的进度", "截至目前情况"):
        assert "百姓学习之星 7 名（要求 8-10）" in desk.ask(CONTACT, text), text


def test_unknown_user_is_refused_politely(desk: Desk) -> None:
    answer = desk.ask("stranger", "状态")
    assert "尚未登记" in answer and "0431-82857798" in answer
    # The office registers people by WeCom userid: the refusal tells it, and what to do with it.
    assert "stranger" in answer and "告知" in answer and "添加为" in answer and "联系人" in answer
    for name in ("长白山", "延边", "宋丽萍"):
        assert name not in answer


def test_office_summary_pending_and_unit(desk: Desk) -> None:
    summary = desk.ask(OFFICE, "汇总")
    assert "已报送 2" in summary and "材料齐全 1" in summary
    pending = desk.ask(OFFICE, "未交")
    assert "长白山管委会教育科技局（4项）" in pending and "长春市教育局" in pending
    unit = desk.ask(OFFICE, "单位 延边州")
    assert "延边朝鲜族自治州教育局" in unit and "材料齐全" in unit


def test_office_records_paper_copies(desk: Desk) -> None:
    store = desk.service.store
    assert not store.state.paper_received("延边朝鲜族自治州教育局")
    assert any(f.code == "PAPER_PENDING" for f in store.evaluations.current_findings("延边朝鲜族自治州教育局"))
    answer = desk.ask(OFFICE, "纸质 延边州 已收")
    assert "已登记" in answer
    assert store.state.paper_received("延边朝鲜族自治州教育局")
    # The re-check is the pipeline thread's, never the callback's (WeCom gives it 5 seconds).
    assert desk.service.desk.await_recheck("延边朝鲜族自治州教育局", 10)
    assert not any(f.code == "PAPER_PENDING" for f in store.evaluations.current_findings("延边朝鲜族自治州教育局"))
    assert "纸质材料：已收到" in desk.ask(OTHER_CONTACT, "状态")


def test_asking_about_paper_copies_records_nothing(desk: Desk) -> None:
    store = desk.service.store
    for text in ("纸质 四平 未收", "纸质 四平 收到了吗", "纸质 四平"):
        answer = desk.ask(OFFICE, text)
        assert "四平市教育局 的纸质材料：尚未登记收到" in answer and "已登记：" not in answer, text
    assert store.state.paper_receipts("四平市教育局") == []
    own = desk.ask(OTHER_CONTACT, "纸质材料收到了吗？")  # a contact asks about their own unit
    assert own.startswith("延边朝鲜族自治州教育局 的纸质材料：")
    assert desk.ask(CONTACT, "纸质 延边州").startswith("该命令仅供省级办公室使用")


def test_forged_signature_is_refused_and_nothing_processed(desk: Desk) -> None:
    before = len(desk.service.store.state.paper_receipts("长白山管委会教育科技局"))
    xml = desk.sim.text_message(OFFICE, "纸质 长白山 已收", next(_msg_ids))
    response = desk.sim.send_callback(desk.url, xml, bad_signature=True)
    assert response.status_code == 403
    assert len(desk.service.store.state.paper_receipts("长白山管委会教育科技局")) == before


def test_stale_timestamp_is_refused(desk: Desk) -> None:
    xml = desk.sim.text_message(CONTACT, "状态", next(_msg_ids))
    response = desk.sim.send_callback(desk.url, xml, timestamp=int(time.time()) - 3600)
    assert response.status_code == 403


def test_a_replayed_msgid_is_processed_once(desk: Desk) -> None:
    store = desk.service.store
    before = len(store.state.paper_receipts("长白山管委会教育科技局"))
    xml = desk.sim.text_message(OFFICE, "纸质 长白山 已收", next(_msg_ids))
    first = desk.sim.send_callback(desk.url, xml)
    second = desk.sim.send_callback(desk.url, xml)
    assert "已登记" in desk.reply_text(first.text)
    assert second.status_code == 200 and second.text == ""
    assert len(store.state.paper_receipts("长白山管委会教育科技局")) == before + 1


def test_menu_click_and_enter_agent(desk: Desk) -> None:
    click = desk.sim.send_callback(desk.url, desk.sim.event_message(CONTACT, "click", "status"))
    assert "百姓学习之星 7 名" in desk.reply_text(click.text)
    enter = desk.sim.send_callback(desk.url, desk.sim.event_message(CONTACT, "enter_agent"))
    assert "欢迎使用" in desk.reply_text(enter.text)


def test_two_menu_clicks_in_the_same_second_are_both_answered(desk: Desk) -> None:
    second = int(time.time()) - 100  # a second no other test clicks in

    def click(key: str) -> str:
        xml = desk.sim.event_message(OTHER_CONTACT, "click", key, create_time=second)
        return desk.reply_text(desk.sim.send_callback(desk.url, xml).text)

    assert "延边朝鲜族自治州教育局" in click("status")
    assert "2021年08月30日" in click("deadline")
    assert click("deadline") == ""  # WeCom's retry of the same click


def _sample_zip(case: str) -> tuple[str, bytes]:
    with (SAMPLES / case / "1.eml").open("rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    part = next(msg.iter_attachments())
    return part.get_filename(), part.get_content()


def test_a_file_sent_in_wecom_is_checked_and_answered(desk: Desk) -> None:
    store = desk.service.store
    name, data = _sample_zip("changbaishan_missing")
    media_id = desk.sim.add_media(name, data)
    before = len(store.submissions.of_unit("长白山管委会教育科技局"))
    desk.sim.expire_tokens()  # the result is sent with a token refreshed on the way
    response = desk.sim.send_callback(
        desk.url, desk.sim.file_message(CONTACT, media_id, next(_msg_ids), file_name=name)
    )
    ack = desk.reply_text(response.text)
    assert "已收到文件" in ack and name in ack

    def result():
        return [m for m in desk.sim.sent_messages if CONTACT in m.touser and "文件已检查" in (m.content or "")]

    sent = desk.wait_for(result)
    assert "宋丽萍" in sent[0].content
    assert "修改建议：" in sent[0].content  # the same answer as "缺什么", fixes included
    # One mail and one WeCom file: the file is not counted as a mail.
    assert "已收邮件 1 封、企业微信文件 1 批" in sent[0].content
    assert "已收邮件 2 封" not in desk.ask(CONTACT, "状态")
    assert len(store.submissions.of_unit("长白山管委会教育科技局")) == before + 1
    desk.wait_for(lambda: [f for f in store.wecom_files.all("done") if f.media_id == media_id])
    # The unit's contacts also get the full reply by mail (written to the outbox folder here).
    outbox = desk.service.settings.outbox_dir

    def mailed():
        for path in sorted(Path(outbox).glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if (
                "2295831465@qq.com" in str(msg["To"])
                and "共 1 封邮件、企业微信文件 1 批" in msg.get_body(("plain",)).get_content()
            ):
                return msg
        return None

    assert desk.wait_for(mailed)


def test_a_stranger_cannot_send_files(desk: Desk) -> None:
    store = desk.service.store
    media_id = desk.sim.add_media("材料.zip", base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="))
    xml = desk.sim.file_message("stranger", media_id, next(_msg_ids), file_name="材料.zip")
    answer = desk.reply_text(desk.sim.send_callback(desk.url, xml).text)
    # Told the file was not taken, why, and how to get registered; not "you cannot query".
    assert "文件未被接收" in answer and "尚未登记" in answer and "stranger" in answer
    assert "登记方法" in answer and "0431-82857798" in answer and "重新发送" in answer
    assert "暂不能查询" not in answer
    image = desk.sim.image_message("stranger", media_id, next(_msg_ids))
    assert "文件未被接收" in desk.reply_text(desk.sim.send_callback(desk.url, image).text)
    time.sleep(1)  # the file worker would have had it by now
    assert [f for f in store.wecom_files.all() if f.user_id == "stranger"] == []
    assert [r for r in store.raw.all() if "stranger" in (r.source_ref or "")] == []
