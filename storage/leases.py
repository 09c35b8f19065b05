"""Leases: who holds a claimed queue row, and until when.

Several desk processes share one database (PostgreSQL, or one SQLite file), so a row left
"processing" (raw_message), "sending" (outbox) or "working" (wecom_pending_file) may belong to a
process that is alive and busy, not to a dead one. Every claim therefore records its worker
(`claimed_by`, from `worker_id()`) and a `lease_until` on real time; a live process renews all
its leases with one statement per queue (`LeaseRepo.renew`, from a heartbeat thread), so a
two-minute video probe keeps its claim however long it takes. Only a lease that ran out is
taken back (`take_back_expired`): its worker stopped renewing, so it died or hung. A row claimed
by an older desk (no lease) counts as expired.

One more case is known for certain without waiting: a worker on this host (same host name,
kernel boot and pid namespace: `host_id`) whose process no longer exists (a restart after
SIGKILL on the same machine). Its rows go back at once, as the restart did before leases. A
worker on another host, or whose pid is alive (perhaps reused by another program), is left to
its lease.

Leases run on real time (`config.clock.real_now`), never on a rehearsal's fast clock: a lease
measures how long a process may go silent, which a campaign clock at speed 600 says nothing about.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, SQLModel, select

from config.clock import real_now
from config.settings import Settings
from storage.base import Repo
from storage.tables import (
    OutboxRecord,
    OutboxState,
    RawMessageRecord,
    RawState,
    WeComFileState,
    WeComPendingFile,
)

log = logging.getLogger(__name__)

LEASE_SECONDS_ENV = "NOMDESK_LEASE_SECONDS"
DEFAULT_MAX_ATTEMPTS = 5  # killed workers on one raw message before it is quarantined

_identity: tuple[int, str] | None = None  # (pid, worker id): a forked child gets its own
_identity_lock = threading.Lock()


def host_id() -> str:
    """This machine as its pids are seen: the host name, plus which kernel boot and pid namespace
    they belong to. Two containers with one host name (`network_mode: host`) number their
    processes apart, and must not read each other's pids as their own."""
    marks = []
    for source in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            marks.append(os.readlink(source) if source.endswith("/pid") else Path(source).read_text().strip())
        except OSError:
            marks.append("")
    digest = hashlib.sha256("|".join(marks).encode()).hexdigest()[:8]
    return f"{socket.gethostname().replace(':', '_')}~{digest}"


def worker_id() -> str:
    """This process's name on its claims, "host:pid:random": stable in a process, new after a fork
    or a restart (a reused pid gets another random part, so no restart inherits a dead one's rows)."""
    global _identity
    with _identity_lock:
        pid = os.getpid()
        if _identity is None or _identity[0] != pid:
            _identity = (pid, f"{host_id()}:{pid}:{secrets.token_hex(4)}")
        return _identity[1]


def default_lease() -> dt.timedelta:
    """NOMDESK_LEASE_SECONDS (the settings' `lease_seconds`), read from the environment like
    NOMDESK_DATABASE_URL so every command and subprocess agrees; a bad value falls back to the default."""
    default = float(Settings.model_fields["lease_seconds"].default)
    try:
        seconds = float(os.environ.get(LEASE_SECONDS_ENV, default))
    except ValueError:
        seconds = default
    return dt.timedelta(seconds=seconds if seconds > 0 else default)


def lease_until(lease: dt.timedelta | None) -> dt.datetime:
    """The end of a lease taken now, on real time."""
    return real_now() + (lease if lease is not None else default_lease())


Claimed = TypeVar("Claimed", bound=SQLModel)


def claim_first(
    s: Session, model: type[Claimed], claimable: ColumnElement[bool], values: dict[str, Any]
) -> Claimed | None:
    """The oldest of a few `claimable` rows, set to `values` with its attempt counted and committed;
    None when there is none or others took each first. The update is conditional on the attempt
    count read, so of several processes reaching for one row exactly one gets it (no lock held,
    which works alike on SQLite and PostgreSQL)."""
    key, attempts = model.id, model.attempts  # type: ignore[attr-defined]
    for row in s.exec(select(model).where(claimable).order_by(key).limit(5)).all():
        seen = row.attempts  # type: ignore[attr-defined]
        claimed = s.exec(
            update(model).where(key == row.id, attempts == seen, claimable).values(attempts=seen + 1, **values)  # type: ignore[attr-defined]
        )
        if claimed.rowcount:
            s.commit()
            return s.get(model, row.id, populate_existing=True)  # type: ignore[attr-defined]
    return None


def holder_is_dead(worker: str | None) -> bool:
    """Whether `worker` was a process on this host that is gone (its pid does not exist). Unknown
    forms, other hosts and live pids are not known dead: their leases decide."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != host_id() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


# The three queues: the row type, its "claimed" state.
QUEUES: tuple[tuple[Any, str], ...] = (
    (RawMessageRecord, RawState.PROCESSING),
    (OutboxRecord, OutboxState.SENDING),
    (WeComPendingFile, WeComFileState.WORKING),
)


def log_not_holder(queue: str, row_id: int | None, worker: str, holder: str | None) -> None:
    """A worker finishing a row that was taken back and claimed by another: its result is dropped."""
    log.warning(
        "%s %s: lease lost (now held by %s, not %s); this result is not recorded", queue, row_id, holder, worker
    )


class LeaseRepo(Repo):
    """Renewing and taking back the leases of all three queues."""

    def renew(self, worker: str, lease: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Every row `worker` holds in any queue is leased until `now + lease`; how many."""
        until = (now or real_now()) + lease
        renewed = 0
        with self._session() as s:
            for table, claimed in QUEUES:
                result = s.exec(
                    update(table).where(table.state == claimed, table.claimed_by == worker).values(lease_until=until)
                )
                renewed += result.rowcount or 0
        return renewed

    def take_back_expired(self, now: dt.datetime | None = None, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """Rows whose lease ran out (or that have none, or whose worker on this host is gone) go
        back to their queue; a raw message whose workers died on it `max_attempts` times (transient
        failures do not count) goes to quarantine instead, so a mail that kills the desk cannot loop.
        A live lease is never touched. How many rows were taken back."""
        now = now or real_now()
        dead = self._dead_holders()
        taken = self._take_back_raw(now, dead, max_attempts)
        for table, claimed, back in (
            (OutboxRecord, OutboxState.SENDING, OutboxState.PENDING),
            (WeComPendingFile, WeComFileState.WORKING, WeComFileState.PENDING),
        ):
            with self._session() as s:
                # Its due time is left as it was: it was due when claimed, so it is due again now
                # on any clock (a rehearsal's clock may be years from real time).
                result = s.exec(
                    update(table)
                    .where(table.state == claimed, self._expired(table, now, dead))
                    .values(state=back, claimed_by=None, lease_until=None, claimed_at=None)
                )
                taken += result.rowcount or 0
        if taken:
            log.info("took back %d claimed row(s) whose lease ran out", taken)
        return taken

    def held_by(self, worker: str) -> int:
        """How many rows `worker` holds in all queues (for an operator, and the tests)."""
        with self._read_session() as s:
            return sum(
                len(s.exec(select(table.id).where(table.state == claimed, table.claimed_by == worker)).all())
                for table, claimed in QUEUES
            )

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _expired(table: Any, now: dt.datetime, dead: Iterable[str]) -> Any:
        conditions = [table.lease_until.is_(None), table.lease_until < now]
        dead = list(dead)
        if dead:
            conditions.append(table.claimed_by.in_(dead))
        return or_(*conditions)

    def _dead_holders(self) -> list[str]:
        """The holders of claimed rows that are processes of this host no longer running."""
        with self._read_session() as s:
            holders: set[str] = set()
            for table, claimed in QUEUES:
                holders.update(
                    h for h in s.exec(select(table.claimed_by).where(table.state == claimed).distinct()).all() if h
                )
        return sorted(h for h in holders if holder_is_dead(h))

    def _take_back_raw(self, now: dt.datetime, dead: list[str], max_attempts: int) -> int:
        with self._session() as s:
            rows = s.exec(
                select(RawMessageRecord)
                .where(RawMessageRecord.state == RawState.PROCESSING, self._expired(RawMessageRecord, now, dead))
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                if row.attempts - row.transient_failures >= max_attempts:
                    row.state = RawState.QUARANTINED
                    row.last_error = f"processing interrupted {row.attempts} times"
                    self._audit_row(s, "system", "raw.quarantined", None, {"raw_id": row.id, "error": row.last_error})
                else:
                    row.state = RawState.NEW
                    self._audit_row(
                        s, "system", "raw.taken_back", None, {"raw_id": row.id, "claimed_by": row.claimed_by}
                    )
                row.claimed_at = None
                row.claimed_by = None
                row.lease_until = None
                s.add(row)
            return len(rows)


class LeaseHeartbeat:
    """A daemon thread renewing every lease this process holds, `every` seconds (a third of the
    lease by default, so two missed beats still leave it alive). A beat that fails (the database
    away for a moment) is logged and tried again at the next."""

    def __init__(
        self,
        leases: LeaseRepo,
        lease: dt.timedelta | None = None,
        *,
        worker: str | None = None,
        every: float | None = None,
    ) -> None:
        self.leases = leases
        self.lease = lease if lease is not None else default_lease()
        self.worker = worker or worker_id()
        self.every = every if every is not None else max(self.lease.total_seconds() / 3, 0.05)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> int:
        return self.leases.renew(self.worker, self.lease)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:
                log.warning("lease renewal failed; retried in %.1f s", self.every, exc_info=True)

    def start(self) -> LeaseHeartbeat:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="nomdesk-leases", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
