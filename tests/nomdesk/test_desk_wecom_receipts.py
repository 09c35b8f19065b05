"""What the WeCom answer to a contact's file says, beside the mail receipts (issue 13, audit):
an unfinished check reports nothing "已解决", and a voided submission is named once per channel.

The desk gets 延边's complete sample by mail, then files from its WeCom contact. The WeCom answer
is read from the outbox row the contact's phone is sent; the mail receipts from DIR/outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.stored import WECOM_BURST
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import RawMessageRecord
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.extra_star import FORGED_STAR, extra_star_mail
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.rule_faults import break_rules
from tests.support.service import body_text, mail, outbox_mails

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
CONTACT = "wufengxia"  # 延边州's contact in WeCom
SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
STAR = "金哲洙"
REASON = "冒用联系人邮箱发送，非本单位报送"
VOIDED = "办公室已作废的报送"


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign, clock: Clock) -> Iterator[Desk]:
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        settings = Settings(data_dir=data, reply_rate_per_hour=100, wecom_answer_settle_seconds=60)
        yield Desk(settings, campaign, store, clock=clock)


@pytest.fixture
def worker(desk: Desk, tmp_path: Path, clock: Clock) -> OutboxWorker:
    return OutboxWorker(desk.store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)


def _mail(desk: Desk, clock: Clock, worker: OutboxWorker, path: Path) -> str:
    """Deliver a mail; the text of the receipt its sender gets."""
    before = len(outbox_mails(desk.settings.data_dir))
    desk.ingest_file(path, received_at=clock())
    desk.process_pending()
    worker.run_once()
    mails = outbox_mails(desk.settings.data_dir)
    assert len(mails) == before + 1 and SENDER in str(mails[-1]["To"])
    clock.now += dt.timedelta(minutes=10)
    return body_text(mails[-1])


def _photo_mail(path: Path) -> Path:
    photo = make_photo(800, 600, text="金哲洙补充").read_bytes()
    part = attachment(photo, filename_rfc2047("金哲洙生活照9.jpg"), content_type="image/jpeg")
    path.write_bytes(mail(SENDER, subject="补充照片", parts=[part], date=None))
    return path


def _wecom(desk: Desk, clock: Clock, worker: OutboxWorker, name: str, data: bytes) -> tuple[str, str]:
    """A file from the WeCom contact, once her last burst is over; (the WeCom answer, the mail the
    unit's contacts get for it), once the answer has settled and gone."""
    clock.now += WECOM_BURST + dt.timedelta(minutes=1)
    record: RawMessageRecord = desk.accept_wecom_file(CONTACT, f"media-{name}", name, data)
    desk.process_pending()
    clock.now += dt.timedelta(seconds=desk.settings.wecom_answer_settle_seconds + 1)
    worker.run_once()  # the contacts' mail; the WeCom row is due (what the chat sender takes)
    answer = desk.store.outbox.by_key(f"wecom-reply:{record.id}")
    contacts = desk.store.outbox.by_key(f"reply:{record.id}")
    assert answer is not None and contacts is not None
    return answer.body_text, contacts.body_text


@pytest.mark.rule_faults
def test_an_unfinished_check_resolves_nothing_in_the_wecom_answer(
    desk: Desk, clock: Clock, worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mail(desk, clock, worker, SAMPLE)
    # A photo named for no one: "文件无法归属" (FILE_UNMATCHED), a new problem in the answer.
    answer, _ = _wecom(desk, clock, worker, "现场照片.jpg", make_photo(800, 600, text="现场").read_bytes())
    assert "与上次相比：已解决 0 项，新增 1 项" in answer

    # The rule that found it raises: its problem is unknown now, not solved; nothing is 材料齐全.
    break_rules(monkeypatch, ["FILE_UNMATCHED"])
    answer, contacts = _wecom(desk, clock, worker, f"{STAR}生活照.jpg", make_photo(1024, 768).read_bytes())
    assert "已解决" not in answer and "与上次相比" not in answer
    assert "材料齐全" not in answer and "人工核查" in answer
    assert "已解决" not in contacts and "材料齐全" not in contacts and "人工核查" in contacts


def test_a_void_is_told_once_in_each_channel(
    desk: Desk, campaign: Campaign, clock: Clock, worker: OutboxWorker, tmp_path: Path
) -> None:
    _mail(desk, clock, worker, SAMPLE)
    _mail(desk, clock, worker, extra_star_mail(campaign, tmp_path / "forged.eml"))
    forged = desk.store.submissions.of_unit(UNIT)[-1]
    desk.void(forged.id, actor="office:wu", reason=REASON)
    desk.process_pending()

    # By mail first: the unit's next mail receipt names it ...
    _photo_mail(tmp_path / "3.eml")
    assert f"{VOIDED}：" in _mail(desk, clock, worker, tmp_path / "3.eml")
    # ... and the WeCom chat, which never saw that mail, is told too, once; the contacts' mail for
    # the WeCom file does not repeat what the mailbox was told.
    answer, contacts = _wecom(desk, clock, worker, f"{STAR}生活照.jpg", make_photo(800, 600).read_bytes())
    assert f"{VOIDED}：" in answer and REASON in answer and FORGED_STAR not in answer
    assert VOIDED not in contacts
    answer, contacts = _wecom(desk, clock, worker, f"{STAR}活动照.jpg", make_photo(640, 480).read_bytes())
    assert VOIDED not in answer and VOIDED not in contacts


def test_a_void_told_in_wecom_is_also_mailed_to_the_contacts_and_then_not_again(
    desk: Desk, campaign: Campaign, clock: Clock, worker: OutboxWorker, tmp_path: Path
) -> None:
    _mail(desk, clock, worker, SAMPLE)
    _mail(desk, clock, worker, extra_star_mail(campaign, tmp_path / "forged.eml"))
    forged = desk.store.submissions.of_unit(UNIT)[-1]
    desk.void(forged.id, actor="office:wu", reason=REASON)
    desk.process_pending()

    # WeCom first: the answer and the mail to the unit's contacts both name it (one answer, two channels) ...
    answer, contacts = _wecom(desk, clock, worker, f"{STAR}生活照.jpg", make_photo(800, 600).read_bytes())
    assert f"{VOIDED}：" in answer and f"{VOIDED}：" in contacts and REASON in contacts
    # ... and neither channel repeats it.
    clock.now += dt.timedelta(minutes=10)
    _photo_mail(tmp_path / "3.eml")
    assert VOIDED not in _mail(desk, clock, worker, tmp_path / "3.eml")
    answer, _ = _wecom(desk, clock, worker, f"{STAR}活动照.jpg", make_photo(640, 480).read_bytes())
    assert VOIDED not in answer
