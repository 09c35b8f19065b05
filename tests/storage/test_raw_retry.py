"""A failed raw message waits for its retry without blocking the queue; transient failures never
lead to quarantine, on SQLite as on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from storage.raw import deterministic_failures
from storage.repo import Store
from storage.tables import RawState
from tests.storage.test_raw import make_mail

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(minutes=1)


def test_a_deferred_message_waits_for_its_time_and_the_next_goes_first(store: Store) -> None:
    first, _ = store.raw.put(make_mail("m1", "<m1@x>"), source="cli", received_at=T0)
    second, _ = store.raw.put(make_mail("m2", "<m2@x>"), source="cli", received_at=T0 + dt.timedelta(seconds=1))
    claimed = store.raw.claim_next(now=T0)
    assert claimed.id == first.id

    deferred = store.raw.defer(first.id, "OSError: [Errno 28] 13812345678", LATER, transient=True)
    assert deferred.state == RawState.NEW and deferred.retry_at == LATER and deferred.transient_failures == 1
    assert "13812345678" not in deferred.last_error  # masked like every stored error
    assert store.raw.claim_next(now=T0 + dt.timedelta(seconds=30)).id == second.id  # not blocked by it
    assert store.raw.claim_next(now=T0 + dt.timedelta(seconds=59)) is None  # not before its time
    again = store.raw.claim_next(now=LATER)
    assert again.id == first.id and again.attempts == 2 and again.retry_at is None
    assert [a.detail["transient"] for a in store.audit.entries(action="raw.deferred")] == [True]


def test_only_deterministic_failures_and_killed_workers_count_toward_quarantine(store: Store) -> None:
    row, _ = store.raw.put(make_mail(), source="cli", received_at=T0)
    now = T0
    for _ in range(6):  # a disk that stays full for six tries
        store.raw.claim_next(now=now)
        store.raw.defer(row.id, "OSError: [Errno 28] No space left on device", now, transient=True)
    store.raw.claim_next(now=now)
    store.raw.defer(row.id, "ValueError: reader bug", now, transient=False)
    record = store.raw.get(row.id)
    assert (record.attempts, record.transient_failures, deterministic_failures(record)) == (7, 6, 1)

    # Then its worker is killed once: one more counted attempt, far below the kill limit.
    killed = store.raw.claim_next(now=now)
    store.leases.take_back_expired(killed.lease_until + dt.timedelta(seconds=1), max_attempts=5)
    assert store.raw.get(row.id).state == RawState.NEW  # seven failures were the disk's, not the mail's


def test_a_message_the_office_queued_again_meanwhile_is_not_deferred(store: Store) -> None:
    row, _ = store.raw.put(make_mail(), source="cli", received_at=T0)
    store.raw.claim_next(now=T0)
    store.raw.mark(row.id, RawState.NEW)  # the office assigned it while it was being read
    assert store.raw.defer(row.id, "OSError: [Errno 5] Input/output error", LATER, transient=True) is None
    assert store.raw.claim_next(now=T0).id == row.id  # her queueing stands: at once


def test_a_person_s_retry_or_quarantine_clears_the_wait(store: Store) -> None:
    row, _ = store.raw.put(make_mail(), source="cli", received_at=T0)
    store.raw.claim_next(now=T0)
    store.raw.defer(row.id, "ValueError: bug", LATER, transient=False)
    quarantined = store.raw.quarantine(row.id, "ValueError: bug")
    assert quarantined.retry_at is None
    retried = store.raw.mark(row.id, RawState.NEW)  # `nomdesk retry`
    assert retried.retry_at is None and store.raw.claim_next(now=T0).id == row.id
