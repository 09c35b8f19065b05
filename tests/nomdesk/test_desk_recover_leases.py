"""A second `nomdesk serve` started on the data directory of a running one takes back nothing alive.

Before leases, every start put all rows left "processing" or "sending" back in the queue, taking
it that their process had died; a second desk started beside a live one so took over the first
one's mails and replies while the first was still at them, and both sent the same replies
(4 of 20 units got two). Now a start takes back only claims whose lease ran out
(storage/leases.py): here the second desk starts while the first has replies in flight (a slow
SMTP server keeps them "sending" for seconds) and mail still queued, and every mail gets exactly
one reply, on SQLite (one data directory) as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from storage.repo import Store
from storage.tables import OutboxState, RawState
from tests.support.dovecot import free_port
from tests.support.mail import attachment, filename_rfc2047
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.service import (
    ServeProcess,
    campaign_with_contacts,
    deliver,
    mail,
    message_id_of,
    parse,
    store_of,
    wait_until,
)

pytestmark = pytest.mark.slow

UNITS = ["吉林大学", "东北师范大学", "延边大学", "北华大学", "长春理工大学"]
SENDERS = [f"contact{i}@unit{i}.example.cn" for i in range(10)]
MAILS = 20
SEND_SECONDS = 0.4  # the SMTP server's time per message: a claimed batch stays "sending" for seconds


class SlowSmtp:
    """A real SMTP server on loopback that takes its time over each message and records it."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self._lock = threading.Lock()
        self.received: list[bytes] = []
        self._controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        await asyncio.sleep(SEND_SECONDS)
        content = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        with self._lock:
            self.received.append(bytes(content))
        return "250 OK"

    def replies_by_message_id(self) -> Counter[str]:
        with self._lock:
            return Counter(str(parse(c)["In-Reply-To"] or "").strip() for c in self.received)

    def __enter__(self) -> SlowSmtp:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_a_second_desk_started_beside_a_busy_one_sends_no_reply_twice(
    tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest
) -> None:
    contacts: dict[str, list[str]] = {unit: [] for unit in UNITS}
    for i, sender in enumerate(SENDERS):
        contacts[UNITS[i % len(UNITS)]].append(sender)
    campaign = campaign_with_contacts(tmp_path / "campaign.toml", contacts)
    data = tmp_path / "var"
    mails = [
        mail(
            SENDERS[n % len(SENDERS)],
            subject=f"推荐材料 第{n}封",
            text=f"您好！第{n}封推荐材料见附件。",
            parts=[
                attachment(
                    f"第{n}号工作总结。".encode(), filename_rfc2047(f"工作总结{n}.txt"), content_type="text/plain"
                )
            ],
        )
        for n in range(MAILS)
    ]
    with SlowSmtp() as smtp:
        env = {
            "NOMDESK_SMTP_HOST": smtp.host,
            "NOMDESK_SMTP_PORT": str(smtp.port),
            "NOMDESK_SMTP_STARTTLS": "false",
            "NOMDESK_LEASE_SECONDS": "5",  # renewed by each desk's heartbeat while its sends take longer
        }
        if database_url:
            env["NOMDESK_DATABASE_URL"] = database_url
        first, second = ServeProcess(data, campaign=campaign, env=env), ServeProcess(data, campaign=campaign, env=env)
        request.addfinalizer(first.stop)  # a failed assertion must not leave a desk running
        request.addfinalizer(second.stop)
        Store.open(data, database_url).close()  # migrated before anyone watches it
        for raw in mails:
            deliver(data, raw)
        with store_of(data, database_url) as store:
            first.start(timeout=120)  # a busy machine is slow to start a desk

            def in_flight() -> bool:  # replies claimed and not yet sent, and mail still to read
                sending = store.outbox.all(OutboxState.SENDING)
                queued = [r for r in store.raw.all() if r.state in (RawState.NEW, RawState.PROCESSING)]
                return (len(sending) >= 2 and bool(queued)) or len(store.raw.all(RawState.DONE)) == MAILS

            wait_until(in_flight, 60, 0.01, what=f"replies in flight\n{first.stderr()[-3000:]}")
            held_at_start = {r.id for r in store.outbox.all(OutboxState.SENDING)}
            second.start(timeout=120)  # its recover runs before it answers /healthz

            def settled() -> bool:
                raws = store.raw.all()
                return (
                    len(raws) == MAILS
                    and all(r.state == RawState.DONE for r in raws)
                    and all(o.state in (OutboxState.SENT, OutboxState.SUPPRESSED) for o in store.outbox.all())
                    and sum(smtp.replies_by_message_id().values()) >= MAILS
                )

            wait_until(settled, 120, 0.1, what=f"all mail done and answered\n{second.stderr()[-3000:]}")
            first.stop()
            second.stop()

            assert held_at_start, "the second desk started when no reply was in flight: the test proved nothing"
            replies = smtp.replies_by_message_id()
            for raw in mails:
                assert replies[message_id_of(raw)] == 1, f"{replies[message_id_of(raw)]} replies to one mail"
            assert sum(replies.values()) == MAILS
            outbox = store.outbox.all()
            assert all(o.attempts == 1 for o in outbox), [(o.id, o.attempts) for o in outbox if o.attempts != 1]
            assert not store.audit.entries(action="raw.taken_back")
            assert all(o.claimed_by is None and o.lease_until is None for o in outbox)  # every lease ended
