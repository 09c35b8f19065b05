"""A reply that must not go is created suppressed, in one transaction (issue 13, item 7).

The desk used to queue the reply (one transaction), then suppress it (a second): a crash between
the two left a sendable reply to a `Precedence: bulk` sender, and the outbox worker sent it. Here
the crash is injected into the suppression's audit write, every committed state of the reply's
outbox row is recorded as it happens, and a real outbox worker sends to a real SMTP server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from notify.smtp import SmtpSender
from storage.base import Repo
from storage.repo import Store
from storage.tables import OutboxState, RawState
from tests.support.clock import Clock
from tests.support.service import mail
from tests.support.smtp import SmtpSink

SENDER = "ybjyj_zcjy@163.com"  # a registered contact of 延边州, mailing through a bulk sender
SENDABLE = (OutboxState.PENDING, OutboxState.SENDING)


class Crash(RuntimeError):
    """The process dying at this point (the audit write of the reply's suppression)."""


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(Settings(data_dir=data), campaign, store, clock=clock)


def test_a_crash_while_suppressing_never_leaves_a_sendable_reply_to_a_bulk_sender(
    desk: Desk, tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = desk.store
    seen: list[str] = []  # every committed state of the reply row, looked at from another connection
    crash = True
    audit_row = Repo._audit_row

    def watched(session, actor, action, unit_name, detail):  # type: ignore[no-untyped-def]
        seen.extend(row.state for row in store.outbox.all() if row.dedupe_key.startswith("reply:"))
        if crash and action == "outbox.suppressed":
            raise Crash("killed while suppressing the reply")
        audit_row(session, actor, action, unit_name, detail)

    monkeypatch.setattr(Repo, "_audit_row", staticmethod(watched))

    path = tmp_path / "bulk.eml"
    path.write_bytes(mail(SENDER, subject="延边州推荐材料", extra_headers=[b"Precedence: bulk"]))
    record = desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()  # the crash: the mail waits for another try
    assert store.raw.get(record.id).state != RawState.DONE
    worker = OutboxWorker(
        store, smtp=SmtpSender(sink.host, sink.port), outbox_dir=tmp_path / "outbox", clock=desk.clock
    )
    worker.run_once()  # the real worker, after the crash: nothing it may send to her
    assert [e for e in sink.received if SENDER in e.rcpt_tos] == []
    assert not any(state in SENDABLE for state in seen), seen

    crash = False
    desk.clock.now += dt.timedelta(days=1)  # past any retry backoff
    desk.process_pending()
    assert store.raw.get(record.id).state == RawState.DONE
    reply = store.outbox.by_key(f"reply:{record.id}")
    assert reply is not None and reply.state == OutboxState.SUPPRESSED
    assert reply.last_error == "precedence_bulk"  # the reason, on the row itself
    seen.extend(row.state for row in store.outbox.all() if row.dedupe_key.startswith("reply:"))
    assert seen and not any(state in SENDABLE for state in seen), seen
    worker.run_once()
    assert [e for e in sink.received if SENDER in e.rcpt_tos] == []  # not a word to the bulk sender
    assert store.submissions.for_raw(record.id).unit_name == "延边朝鲜族自治州教育局"  # still her submission


def test_a_suppressed_row_is_created_with_its_reason_and_audit_or_not_at_all(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = desk.store
    row, created = store.outbox.enqueue(
        "reply:list", channel="mail", recipients=[SENDER], eml=b"x", suppressed="list_mail"
    )
    assert created and row.state == OutboxState.SUPPRESSED and row.last_error == "list_mail"
    (audit,) = store.audit.entries(action="outbox.suppressed")
    assert audit.detail["outbox_id"] == row.id and audit.detail["reason"] == "list_mail"

    def failing(session, actor, action, unit_name, detail):  # type: ignore[no-untyped-def]
        if action == "outbox.suppressed":
            raise Crash("killed")

    monkeypatch.setattr(Repo, "_audit_row", staticmethod(failing))
    with pytest.raises(Crash):
        store.outbox.enqueue("reply:bulk", channel="mail", recipients=[SENDER], eml=b"x", suppressed="precedence_bulk")
    assert store.outbox.by_key("reply:bulk") is None  # nothing half-made: no row at all
