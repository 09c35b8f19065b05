"""No backscatter (issue 13, item 10): an address that is no unit's contact gets one reply in any
24 hours, none when its mail fails SPF/DMARC; an autoresponder that does not say so in its
headers is known by its subject or its words and never answered; a unit's package whose title
merely holds such a word is a package."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.autoreply import SUPPRESSION_ZH
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState, RawState
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import mail, parse

STRANGER = "wangli_mhk@163.com"  # no unit's contact
CONTACT = "ybjyj_zcjy@163.com"  # a registered contact of 延边州
YANBIAN = "延边朝鲜族自治州教育局"
START = dt.datetime(2021, 8, 21, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(
            Settings(data_dir=data, trusted_authserv_id="mx.office.example"), campaign, store, clock=Clock(START)
        )


def deliver(desk: Desk, tmp_path: Path, raw: bytes) -> int:
    """The mail arrives now; the pipeline and the outbox worker run; the raw message's id."""
    path = tmp_path / f"in-{len(list(tmp_path.glob('in-*.eml')))}.eml"
    path.write_bytes(raw)
    record = desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()
    OutboxWorker(desk.store, smtp=None, outbox_dir=desk.settings.data_dir / "outbox", clock=desk.clock).run_once()
    return record.id


def sent_to(desk: Desk, address: str) -> list[EmailMessage]:
    """What the desk sent to `address` (the outbox folder: no SMTP server configured)."""
    mails = [parse(p.read_bytes()) for p in sorted((desk.settings.data_dir / "outbox").glob("*.eml"))]
    return [m for m in mails if address in str(m["To"])]


def test_an_unknown_address_gets_one_reply_in_any_24_hours_and_its_mails_wait_for_the_office(
    desk: Desk, tmp_path: Path
) -> None:
    ids = []
    for hours in (0, 3, 23):  # three mails in one day
        desk.clock.now = START + dt.timedelta(hours=hours)
        ids.append(deliver(desk, tmp_path, mail(STRANGER, subject=f"推荐材料{hours}", date=None)))
    assert len(sent_to(desk, STRANGER)) == 1
    for raw_id in ids[1:]:
        row = desk.store.outbox.by_key(f"reply:{raw_id}")
        assert row.state == OutboxState.SUPPRESSED and row.last_error == "unknown_daily"
    waiting = [m for m in desk.store.submissions.waiting_mails() if m.sender == STRANGER]
    assert len(waiting) == 3  # every mail kept, in the 待确认 queue
    assert all(desk.store.raw.get(i).state == RawState.DONE for i in ids)

    desk.clock.now = START + dt.timedelta(hours=24, minutes=1)  # the next day: one more
    deliver(desk, tmp_path, mail(STRANGER, subject="推荐材料（次日）", date=None))
    desk.clock.now += dt.timedelta(hours=1)
    deliver(desk, tmp_path, mail(STRANGER, subject="推荐材料（次日再补）", date=None))
    assert len(sent_to(desk, STRANGER)) == 2
    assert SUPPRESSION_ZH["unknown_daily"]  # the office reads why in Chinese


def test_a_stranger_answering_the_desks_letter_hears_back_but_a_made_up_answer_does_not(
    desk: Desk, tmp_path: Path
) -> None:
    """Her answer names the letter she got (In-Reply-To): a conversation, not backscatter. A forger
    who only guesses the desk's domain names no letter the desk sent to that address."""
    deliver(desk, tmp_path, mail(STRANGER, subject="推荐材料", date=None))
    (question,) = sent_to(desk, STRANGER)
    desk.clock.now += dt.timedelta(hours=1)
    forged = f"<{'0' * 20}@{desk.own_domain}>"
    guessed = deliver(
        desk,
        tmp_path,
        mail(STRANGER, subject="Re: 推荐材料", date=None, extra_headers=[f"In-Reply-To: {forged}".encode()]),
    )
    assert desk.store.outbox.by_key(f"reply:{guessed}").last_error == "unknown_daily"
    desk.clock.now += dt.timedelta(hours=1)
    answer = mail(
        STRANGER,
        subject="Re: 推荐材料",
        text="单位：梅河口市教育局\n联系人：王丽\n电话：13912345678",
        date=None,
        extra_headers=[f"In-Reply-To: {question['Message-ID']}".encode()],
    )
    deliver(desk, tmp_path, answer)
    letters = sent_to(desk, STRANGER)
    assert len(letters) == 2
    assert "梅河口市教育局" in str(letters[-1].get_body(("plain",)).get_content())


VACATION_TEXT = "您好，我现在休假，8月30日返回，届时再回复您的邮件。"


def vacation_mail(n: int, sender: str) -> bytes:
    """A vacation responder without Auto-Submitted: its label in the subject, or only its words."""
    if n % 2:
        return mail(sender, subject="自动回复：关于报送材料的提醒", text=VACATION_TEXT, date=None)
    return mail(sender, subject="回复：【材料受理回执】", text=VACATION_TEXT, date=None)


@pytest.mark.parametrize("sender", [CONTACT, STRANGER])
def test_a_vacation_responder_without_auto_submitted_is_never_answered(desk: Desk, tmp_path: Path, sender: str) -> None:
    ids = []
    for n in range(10):  # ten over two hours
        desk.clock.now = START + dt.timedelta(minutes=12 * n)
        ids.append(deliver(desk, tmp_path, vacation_mail(n, sender)))
    assert sent_to(desk, sender) == []
    for raw_id in ids:
        raw = desk.store.raw.get(raw_id)
        assert raw.state == RawState.IGNORED, raw.last_error  # kept, not a submission
        assert desk.store.submissions.for_raw(raw_id) is None
    reasons = {desk.store.raw.get(i).last_error for i in ids}
    assert reasons == {"not a submission: autoreply_subject", "not a submission: autoreply_content"}
    assert desk.store.submissions.of_unit(YANBIAN) == [] and desk.store.submissions.waiting_mails() == []


def test_a_units_package_titled_with_such_a_word_is_answered(desk: Desk, tmp_path: Path) -> None:
    part = attachment("推荐材料说明".encode(), filename_rfc2047("推荐材料说明.txt"), content_type="text/plain")
    raw_id = deliver(
        desk, tmp_path, mail(CONTACT, subject="休假前报送材料", text="休假前先把材料报上，请查收。", parts=[part])
    )
    assert desk.store.raw.get(raw_id).state == RawState.DONE
    assert desk.store.submissions.for_raw(raw_id).unit_name == YANBIAN
    (receipt,) = sent_to(desk, CONTACT)
    assert "【材料受理回执】" in str(receipt["Subject"])


def test_an_unknown_sender_failing_spf_and_dmarc_gets_no_reply_and_still_waits(desk: Desk, tmp_path: Path) -> None:
    failed = (
        b"Authentication-Results: mx.office.example; spf=fail smtp.mailfrom=163.com;"
        b" dkim=none; dmarc=fail header.from=163.com"
    )
    raw_id = deliver(desk, tmp_path, mail(STRANGER, subject="推荐材料", extra_headers=[failed], date=None))
    assert sent_to(desk, STRANGER) == []
    row = desk.store.outbox.by_key(f"reply:{raw_id}")
    assert row.state == OutboxState.SUPPRESSED and row.last_error == "sender_unauthenticated"
    assert not desk.replies.from_a_robot("sender_unauthenticated")  # her mail, only not answered
    assert [m.raw_id for m in desk.store.submissions.waiting_mails()] == [raw_id]
    assert "SPF" in SUPPRESSION_ZH["sender_unauthenticated"]
