"""No automatic reply to robots or lists (RFC 3834): the running desk keeps such mail but stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.repo import Store
from storage.tables import OutboxRecord, OutboxState, RawState, utcnow
from tests.support.service import (
    ServeProcess,
    body_text,
    campaign_with_contacts,
    deliver,
    mail,
    message_id_of,
    outbox_mails,
    replies_to,
    sha256,
    store_of,
    wait_until,
)

pytestmark = pytest.mark.slow

SENDER = "ybjyj_zcjy@163.com"  # a registered contact: only the headers say "do not answer"


def _due(store: Store) -> list[OutboxRecord]:
    """Pending messages whose time has come: what the sender still has to do now."""
    now = utcnow()
    return [r for r in store.outbox.all(OutboxState.PENDING) if r.next_attempt_at <= now]


def bounce() -> bytes:
    return (
        b"Return-Path: <>\r\n"
        b"From: Mail Delivery System <MAILER-DAEMON@163.com>\r\n"
        b"To: jlqmxx@126.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce.20210821@163.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        b"--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"Your message could not be delivered.\r\n"
        b"--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.163.com\r\n\r\nFinal-Recipient: rfc822; nobody@example.cn\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"--dsn--\r\n"
    )


def test_no_reply_to_auto_replies_bounces_or_lists(tmp_path: Path) -> None:
    data = tmp_path / "var"
    silent = {
        "auto_replied": mail(SENDER, subject="自动回复：推荐材料", extra_headers=[b"Auto-Submitted: auto-replied"]),
        "bounce": bounce(),
        "list_id": mail(SENDER, subject="[通知] 推荐材料", extra_headers=[b"List-Id: <jyj.lists.example.cn>"]),
        "precedence_list": mail(SENDER, subject="推荐材料（群发）", extra_headers=[b"Precedence: list"]),
    }
    control = mail(SENDER, subject="延边州推荐材料")
    with ServeProcess(data) as serve, store_of(data) as store:
        for raw in silent.values():
            deliver(data, raw)
        wait_until(lambda: len(store.raw.all(RawState.NEW)) == 0 and len(store.raw.all()) == 4, 30)
        deliver(data, control)  # answered: the desk is not simply mute
        wait_until(lambda: replies_to(outbox_mails(data), message_id_of(control)), 30, what="the control reply")
        wait_until(lambda: not _due(store), 10, what="an empty queue")
        assert serve.healthy()

        assert len(outbox_mails(data)) == 1
        rows = {r.sha256: r for r in store.raw.all()}
        for name, raw in silent.items():
            row = rows[sha256(raw)]
            assert not replies_to(outbox_mails(data), message_id_of(raw)), name
            replies = [o for o in store.outbox.all() if o.raw_message_id == row.id]
            if name in ("auto_replied", "bounce"):
                # Not a submission at all, but kept byte for byte.
                assert row.state == RawState.IGNORED, name
                assert store.submissions.for_raw(row.id) is None, name
                assert replies == [], name
            else:
                # A list mail from a contact may carry material: read and stored, the reply held back.
                assert row.state == RawState.DONE, name
                assert store.submissions.for_raw(row.id) is not None, name
                assert [o.state for o in replies] == [OutboxState.SUPPRESSED], name
            assert (data / "store" / row.store_path).read_bytes() == raw


def test_a_contact_on_the_offices_provider_is_answered_and_reply_to_is_not_honoured(tmp_path: Path) -> None:
    """The office's mailbox is on 126.com, so are many contacts': they are units, not our own mail.
    And a Reply-To header never redirects a unit's dossier away from its registered sender."""
    data = tmp_path / "var"
    contact = "cbs_jyj@126.com"
    campaign = campaign_with_contacts(tmp_path / "campaign.toml", {"长白山管委会教育科技局": [contact]})
    raw = mail(
        f"长白山教育局 <{contact}>",
        subject="长白山推荐材料",
        message_id="<20210821.1a2b@126.com>",
        extra_headers=[b"Reply-To: outsider@evil.example"],
    )
    with ServeProcess(data, campaign=campaign), store_of(data) as store:
        deliver(data, raw)
        reply = wait_until(lambda: replies_to(outbox_mails(data), message_id_of(raw)), 60, what="the reply")[0]
        row = next(r for r in store.raw.all() if r.sha256 == sha256(raw))
        assert row.state == RawState.DONE
    assert reply["To"] == contact
    assert "evil.example" not in str(reply)
    assert "长白山管委会教育科技局" in body_text(reply)
