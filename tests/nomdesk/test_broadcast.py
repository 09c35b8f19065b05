"""The bulk message: previewed before it goes (a send needs the preview's own token, within the hour,
for the very message previewed), queued once per unit and channel, held (never dropped) by the
hourly limit per address, logged, and the office's text never taken for markup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from bot.wecom_client import APP_TEXT_LIMIT
from config.campaign import Campaign
from config.settings import Settings
from nomdesk.broadcast import CHANGED_ZH, EXPIRED_ZH, PREVIEW_TTL, BroadcastPreview, preview_broadcast, send_broadcast
from nomdesk.desk import Desk
from storage.repo import Store
from storage.tables import OutboxState
from tests.support.clock import Clock
from tests.support.service import mail

YANBIAN, CHANGBAI, MEIHEKOU = "延边朝鲜族自治州教育局", "长白山管委会教育科技局", "梅河口市教育局"
YANBIAN_MAIL, CHANGBAI_MAIL = "ybjyj_zcjy@163.com", "2295831465@qq.com"  # their contacts in the campaign TOML
NOW = dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC)
TEXT = "请于 8 月 30 日前报送材料。<b>勿回复</b> & 谢谢"


@dataclass
class Office:
    store: Store
    desk: Desk
    clock: Clock


def open_office(tmp_path: Path, campaign: Campaign, **settings: object) -> Office:
    data = tmp_path / "var"
    store = Store.open(data)
    store.directory.sync_units(campaign)
    clock = Clock(NOW)
    return Office(store, Desk(Settings(data_dir=data, **settings), campaign, store, clock=clock), clock)


@pytest.fixture
def office(tmp_path: Path, campaign: Campaign) -> Iterator[Office]:
    o = open_office(tmp_path, campaign)
    yield o
    o.store.close()


SUBJECT = "关于报送推荐材料的提醒"


def preview(o: Office, campaign: Campaign, states: set[str], channels: set[str]) -> BroadcastPreview:
    return preview_broadcast(
        o.store, campaign, states=states, subject=SUBJECT, text=TEXT, channels=channels, now=o.clock()
    )


def send(o: Office, campaign: Campaign, token: str, states: set[str], channels: set[str], **change: str):
    message = {"subject": SUBJECT, "text": TEXT, **change}
    return send_broadcast(
        o.store,
        campaign,
        o.desk.replies,
        token=token,
        states=states,
        channels=channels,
        actor="office:wu",
        now=o.clock(),
        **message,
    )


def broadcast_rows(o: Office) -> list:
    return [r for r in o.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]


def test_the_preview_names_recipients_and_unreachable_units_and_queues_nothing(
    office: Office, campaign: Campaign
) -> None:
    shown = preview(office, campaign, {"nothing"}, {"mail", "wecom"})
    targets = {t.unit: t for t in shown.targets}
    assert set(targets) == {YANBIAN, CHANGBAI}  # the only units with contacts in the shipped campaign
    assert targets[YANBIAN].emails == [YANBIAN_MAIL] and targets[YANBIAN].wecom_users == ["wufengxia"]
    unreachable = {t.unit: t.why_unreachable for t in shown.unreachable}
    assert len(unreachable) == len(campaign.units) - 2
    assert unreachable[MEIHEKOU] == "未登记联系人"
    # The message as a unit reads it: addressed to it, the office's words, the office's signature.
    sample = shown.sample
    assert sample.text.startswith(f"{shown.targets[0].unit}：")
    assert TEXT in sample.text and campaign.office.name in sample.text and campaign.office.phone in sample.text
    assert "&lt;b&gt;勿回复&lt;/b&gt; &amp; 谢谢" in sample.html and "<b>" not in sample.html
    assert len(sample.chat.encode()) <= APP_TEXT_LIMIT
    assert office.store.outbox.all() == []


def test_a_send_queues_one_row_per_unit_and_channel_once_and_is_logged(office: Office, campaign: Campaign) -> None:
    token = preview(office, campaign, {"nothing"}, {"mail", "wecom"}).token
    result = send(office, campaign, token, {"nothing"}, {"mail", "wecom"})
    assert (result.queued, result.held, result.already) == (4, 0, 0)
    rows = {r.dedupe_key: r for r in office.store.outbox.all()}
    assert set(rows) == {f"broadcast:{token}:{u}:{c}" for u in (YANBIAN, CHANGBAI) for c in ("mail", "wecom")}
    mail_row = rows[f"broadcast:{token}:{YANBIAN}:mail"]
    assert mail_row.recipients == [YANBIAN_MAIL] and mail_row.unit_name == YANBIAN
    eml = message_from_bytes(office.store.outbox.eml(mail_row) or b"", policy=policy.default)
    assert eml["To"] == YANBIAN_MAIL and eml["Subject"] == "关于报送推荐材料的提醒"
    html_part = eml.get_body(("html",)).get_content()
    assert "&lt;b&gt;勿回复&lt;/b&gt;" in html_part and "<b>勿回复" not in html_part
    assert rows[f"broadcast:{token}:{CHANGBAI}:wecom"].recipients == ["dinglijun"]

    # The same confirm form sent again (a double click): nothing more is queued.
    again = send(office, campaign, token, {"nothing"}, {"mail", "wecom"})
    assert (again.queued, again.already) == (0, 4)
    assert len(office.store.outbox.all()) == 4
    logged = office.store.audit.entries(action="broadcast.sent")
    assert len(logged) == 1
    assert logged[0].actor == "office:wu"
    assert logged[0].detail["states"] == ["nothing"] and logged[0].detail["queued"] == 4
    assert MEIHEKOU in logged[0].detail["unreachable"]


def test_a_mail_over_the_hourly_limit_is_held_not_dropped(tmp_path: Path, campaign: Campaign) -> None:
    o = open_office(tmp_path, campaign, reply_rate_per_hour=1)
    try:
        earlier = NOW - dt.timedelta(minutes=20)
        o.desk.replies.queue(
            "earlier-notice",
            channel="mail",
            recipients=[YANBIAN_MAIL],
            subject="较早的通知",
            text="较早的通知",
            unit=YANBIAN,
            not_before=earlier,
        )
        token = preview(o, campaign, {"nothing"}, {"mail"}).token
        result = send(o, campaign, token, {"nothing"}, {"mail"})
        assert (result.queued, result.held) == (2, 1)
        held = o.store.outbox.by_key(f"broadcast:{token}:{YANBIAN}:mail")
        assert held is not None and held.state == OutboxState.PENDING
        assert held.next_attempt_at == earlier + dt.timedelta(hours=1)
        other = o.store.outbox.by_key(f"broadcast:{token}:{CHANGBAI}:mail")
        assert other is not None and other.next_attempt_at == NOW
    finally:
        o.store.close()


def test_only_units_in_the_chosen_states_are_messaged(office: Office, campaign: Campaign, tmp_path: Path) -> None:
    path = tmp_path / "changbai.eml"
    path.write_bytes(mail(CHANGBAI_MAIL, subject="长白山推荐材料"))  # nothing attached: 待修改
    office.desk.ingest_file(path, received_at=office.clock())
    office.desk.process_pending()

    def units(states: set[str]) -> set[str]:
        preview = preview_broadcast(
            office.store, campaign, states=states, subject="提醒", text="请补充", channels={"mail"}, now=NOW
        )
        return {t.unit for t in preview.targets}

    assert units({"incomplete"}) == {CHANGBAI}
    assert units({"nothing"}) == {YANBIAN}
    assert units({"nothing", "incomplete"}) == {YANBIAN, CHANGBAI}


@pytest.mark.parametrize(
    ("states", "channels", "subject", "text", "error"),
    [
        (set(), {"mail"}, "提醒", "请报送", "请选择要群发的单位"),
        ({"nothing"}, set(), "提醒", "请报送", "请选择发送渠道"),
        ({"nothing"}, {"mail"}, "提醒", "  ", "请填写群发内容"),
        ({"nothing"}, {"mail"}, "", "请报送", "请填写标题"),
        ({"nothing"}, {"wecom"}, "提醒", "请报送" * 300, "企业微信消息最长"),
        ({"complete"}, {"mail"}, "提醒", "请报送", "请选择要群发的单位"),  # never to the complete units
    ],
)
def test_an_unfit_request_is_refused_in_chinese(
    office: Office, campaign: Campaign, states: set[str], channels: set[str], subject: str, text: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        preview_broadcast(office.store, campaign, states=states, subject=subject, text=text, channels=channels, now=NOW)
    assert office.store.outbox.all() == []


def test_a_send_needs_its_own_preview_within_the_hour(office: Office, campaign: Campaign) -> None:
    with pytest.raises(ValueError, match=EXPIRED_ZH):
        send(office, campaign, "never-previewed-1", {"nothing"}, {"mail"})  # well formed, never minted
    token = preview(office, campaign, {"nothing"}, {"mail"}).token
    office.clock.now += PREVIEW_TTL + dt.timedelta(minutes=1)
    with pytest.raises(ValueError, match=EXPIRED_ZH):
        send(office, campaign, token, {"nothing"}, {"mail"})
    assert broadcast_rows(office) == []
    fresh = preview(office, campaign, {"nothing"}, {"mail"}).token
    office.clock.now += PREVIEW_TTL - dt.timedelta(minutes=1)
    assert send(office, campaign, fresh, {"nothing"}, {"mail"}).queued == 2


@pytest.mark.parametrize(
    ("states", "channels", "change"),
    [
        ({"nothing"}, {"mail"}, {"text": TEXT + "另：材料可直接交到办公室。"}),
        ({"nothing"}, {"mail"}, {"subject": "紧急通知"}),
        ({"nothing", "incomplete"}, {"mail"}, {}),  # more units than the preview showed
        ({"nothing"}, {"mail", "wecom"}, {}),  # a channel the preview did not show
    ],
)
def test_a_message_changed_after_its_preview_is_refused(
    office: Office, campaign: Campaign, states: set[str], channels: set[str], change: dict[str, str]
) -> None:
    token = preview(office, campaign, {"nothing"}, {"mail"}).token
    with pytest.raises(ValueError, match=CHANGED_ZH):
        send(office, campaign, token, states, channels, **change)
    assert broadcast_rows(office) == []
    # The text as previewed, but for blanks the form may add or lose: still the message previewed.
    assert send(office, campaign, token, {"nothing"}, {"mail"}, text=f"  {TEXT}\n").queued == 2


def test_a_send_reaches_only_the_units_its_preview_listed(office: Office, campaign: Campaign) -> None:
    token = preview(office, campaign, {"nothing"}, {"mail"}).token
    office.store.contacts.add(MEIHEKOU, "王丽", emails=["wangli_mhk@126.com"])  # reachable only after the preview
    result = send(office, campaign, token, {"nothing"}, {"mail"})
    assert set(result.units) == {YANBIAN, CHANGBAI}
    assert MEIHEKOU not in {r.unit_name for r in broadcast_rows(office)}
