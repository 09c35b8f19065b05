"""The unregistered sender's whole path through the running desk, against real mail servers (Dovecot
IMAP in, aiosmtpd SMTP out): asked who she is, told her answer went to the office, registered by one
office confirmation, answered with the full receipt of everything she sent, and from then on
answered at once. A stranger's mail the office rejects leaves the queue and is not answered. While
her mails wait, the office sees them counted in the digest and on the dashboard's campaign page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config import load_campaign
from config.settings import Settings
from nomdesk import wiring
from nomdesk.app import create_app
from nomdesk.service import Service
from schedule.digest import digest_markdown
from tests.nomdesk.conftest import mail_env
from tests.nomdesk.test_desk_unknown_sender import (
    CLAIM_TEXT,
    FORM_NAME,
    IDENTIFY,
    MEIHEKOU,
    OFFICE,
    PROJECT,
    PROPOSED,
    STRANGER,
    answer_mail,
    package_mail,
)
from tests.support.dashboard import OFFICE_NAME, OFFICE_PASSWORD, OFFICE_USER, login
from tests.support.dovecot import Dovecot
from tests.support.service import body_text, mail, message_id_of, parse, wait_until
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.slow

FOLDER = "UnknownSender"
OTHER_STRANGER = "promo@example.cn"


@pytest.fixture
def service(tmp_path: Path, dovecot: Dovecot, sink: SmtpSink) -> Iterator[Service]:
    env = mail_env(dovecot, sink, folder=FOLDER)
    settings = Settings(
        data_dir=tmp_path / "var",
        imap_host=env["NOMDESK_IMAP_HOST"],
        imap_port=dovecot.imap_port,
        imap_user=dovecot.user,
        imap_password=dovecot.password,
        imap_folder=FOLDER,
        imap_tls=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_starttls=False,
        # Her dialogue within minutes is what is tested here; the one-a-day limit of letters to an
        # unknown address is tests/nomdesk/test_desk_backscatter.py's.
        unknown_sender_replies_per_day=10,
    )
    running = Service.build(settings, load_campaign())
    running.poll_interval = 0.1
    running.start()
    try:
        yield running
    finally:
        running.shutdown()


def replies(sink: SmtpSink, raw: bytes) -> list[EmailMessage]:
    """What the desk sent in reply to a mail (In-Reply-To its Message-ID), in the order it went."""
    wanted = message_id_of(raw)
    return [m for m in (parse(e.content) for e in sink.received) if str(m["In-Reply-To"] or "").strip() == wanted]


def answered(sink: SmtpSink, raw: bytes, *words: str, what: str) -> EmailMessage:
    def found() -> list[EmailMessage]:
        return [m for m in replies(sink, raw) if all(w in body_text(m) for w in words)]

    (reply,) = wait_until(found, 60, interval=0.05, what=what)
    return reply


def to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [parse(e.content) for e in sink.received if address in e.rcpt_tos]


def digest_text(service: Service) -> str:
    """Today's digest as the office reads it (`nomdesk digest` builds it so)."""
    jobs = wiring.jobs(service.desk)
    return digest_markdown(jobs.digest(jobs.statuses(), service.desk.clock()), service.campaign)


def campaign_page(office: TestClient) -> tuple[str, str]:
    """The dashboard's campaign page: (its 待确认 banner, or "" when none; 梅河口's row)."""
    html = office.get("/").text
    banner = re.search(r'<p class="alert warn" id="waiting-banner">(.*?)</p>', html, re.S)
    row = re.search(rf'<tr[^>]*data-unit="{MEIHEKOU}".*?</tr>', html, re.S)
    assert row, "梅河口 is not listed on the campaign page"
    return (re.sub(r"<[^>]+>", "", banner.group(1)) if banner else ""), row.group(0)


def test_a_stranger_becomes_the_units_contact_after_one_confirmation(
    service: Service,
    dovecot: Dovecot,
    sink: SmtpSink,
    tmp_path: Path,
) -> None:
    store = service.store
    assert store.contacts.list(MEIHEKOU) == []  # the shipped campaign has no contact for 梅河口
    store.directory.add_user(OFFICE_USER, OFFICE_PASSWORD, OFFICE_NAME)
    office = TestClient(create_app(service), base_url="http://127.0.0.1")  # the running service's own
    assert login(office).status_code == 303

    package = package_mail(tmp_path)
    dovecot.append(package, folder=FOLDER)
    letter = answered(sink, package, IDENTIFY, what="the letter asking who she is")
    assert letter["To"] == STRANGER and PROJECT not in body_text(letter)

    claim = answer_mail(STRANGER, CLAIM_TEXT)
    dovecot.append(claim, folder=FOLDER)
    told = answered(sink, claim, PROPOSED, what="the letter saying her answer went to the office")
    assert IDENTIFY not in body_text(told) and "联系人 王丽（电话 139****5678）" in body_text(told)
    wait_until(lambda: [m for m in to(sink, OFFICE) if MEIHEKOU in str(m["Subject"])], 30, what="the proposal")
    waiting = store.submissions.waiting_mails()
    assert [(m.sender, m.claim_unit, m.claim_name) for m in waiting] == [
        (STRANGER, None, None),
        (STRANGER, MEIHEKOU, "王丽"),
    ]
    assert FORM_NAME in waiting[0].files[0]

    # A mail the office says is no submission: out of the queue, and nothing more goes to its sender.
    junk = mail(OTHER_STRANGER, subject="优惠促销", text="优惠促销，欢迎垂询。")
    dovecot.append(junk, folder=FOLDER)
    answered(sink, junk, IDENTIFY, what="the stranger's letter")
    (junk_row,) = [m for m in store.submissions.waiting_mails() if m.sender == OTHER_STRANGER]
    service.desk.reject(junk_row.submission_id, actor="office:test", reason="广告")
    assert [m.sender for m in store.submissions.waiting_mails()] == [STRANGER, STRANGER]

    # What the office sees while her two mails wait: the digest and the campaign page count them,
    # and 梅河口, still 未报送, is marked with the mails guessed to be its own.
    guessed = sum(m.guess == MEIHEKOU for m in store.submissions.waiting_mails())
    assert guessed >= 1  # her answer named it for certain
    assert "待确认单位 2 封" in digest_text(service)
    assert f"{MEIHEKOU}（有 {guessed} 封邮件待确认）" in digest_text(service)
    banner, row = campaign_page(office)
    assert banner.startswith("待确认 2 封")
    assert "未报送" in row and f"有 {guessed} 封邮件待确认" in row

    # The office confirms once: both mails are checked and the receipt lists the package's files.
    record = service.desk.assign(waiting[0].submission_id, MEIHEKOU, actor="office:test")
    receipt = answered(sink, claim, FORM_NAME, what="the receipt after the office confirmed")
    assert receipt["To"] == STRANGER and PROJECT in body_text(receipt) and "共 2 封邮件" in body_text(receipt)
    assert service.desk.await_processed(record.id, 10) is not None
    assert store.submissions.waiting_mails() == []
    assert "待确认单位 0 封" in digest_text(service) and "封邮件待确认" not in digest_text(service)
    banner, row = campaign_page(office)
    assert banner == "" and "待确认" not in row and "未报送" not in row
    (contact,) = store.contacts.list(MEIHEKOU)
    assert (contact.name, contact.emails, contact.phone) == ("王丽", [STRANGER], "13912345678")

    # Her next mail is answered with its receipt at once: no letter, no office step.
    notices = len(to(sink, OFFICE))
    later = mail(STRANGER, subject="补充材料", text="补充一份说明。")
    dovecot.append(later, folder=FOLDER)
    reply = answered(sink, later, "共 3 封邮件", what="the receipt of her next mail")
    assert PROPOSED not in body_text(reply) and IDENTIFY not in body_text(reply)
    assert store.submissions.waiting_mails() == [] and len(to(sink, OFFICE)) == notices
    assert len(to(sink, OTHER_STRANGER)) == 1  # the letter on arrival; nothing after the rejection
