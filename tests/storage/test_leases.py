"""Leases on claimed queue rows (storage/leases.py), as two desk processes on one database see them.

Each test opens two `Store`s on the same data directory and database (the SQLite file, and a
real PostgreSQL), one per "process", each claiming under its own worker id. What must hold
across processes: a live claim is never taken back; an expired one is, by either; renewing keeps
a claim alive however long the work takes; a worker whose row was taken back and claimed by
another cannot finish it; and all three queues (raw mail, outbox, WeCom files) behave alike.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.leases import LeaseHeartbeat, holder_is_dead, host_id, worker_id
from storage.repo import Store
from storage.tables import OutboxRecord, OutboxState, RawState, WeComFileState
from tests.storage.conftest import ID_KEY
from tests.storage.test_raw import make_mail

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)  # the desks' (campaign) clock
LEASE = dt.timedelta(seconds=60)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def two(data_dir: Path, database_url: str | None) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database: process A and process B."""
    with Store.open(data_dir, database_url, id_key=ID_KEY) as a, Store.open(data_dir, database_url, id_key=ID_KEY) as b:
        yield a, b


def fill(store: Store, n: int = 1) -> None:
    """`n` rows due in each queue."""
    for i in range(n):
        store.raw.put(make_mail(f"m{i}", f"<m{i}@x>"), source="cli", received_at=T0 + i * SECOND)
        store.outbox.enqueue(
            f"reply:{i}", channel="mail", recipients=["ybjyj_zcjy@163.com"], body_text="已收到", not_before=T0
        )
        store.wecom_files.add(f"msg-{i}", "zhangsan", f"media-{i}", f"{i}.zip", T0)


def claim_all(store: Store, worker: str, lease: dt.timedelta = LEASE) -> tuple:
    """One row of each queue, claimed by `worker`."""
    raw = store.raw.claim_next(T0, worker=worker, lease=lease)
    [out] = store.outbox.claim(T0, 1, worker=worker, lease=lease)
    file = store.wecom_files.claim(T0, lease, worker=worker)
    assert raw is not None and file is not None
    return raw, out, file


def states(store: Store) -> tuple[str, str, str]:
    [raw] = store.raw.all()
    [out] = store.outbox.all()
    [file] = store.wecom_files.all()
    return raw.state, out.state, file.state


CLAIMED = (RawState.PROCESSING, OutboxState.SENDING, WeComFileState.WORKING)
QUEUED = (RawState.NEW, OutboxState.PENDING, WeComFileState.PENDING)


def test_a_claim_records_its_worker_and_a_lease_on_real_time(two: tuple[Store, Store]) -> None:
    a, _ = two
    fill(a)
    before = dt.datetime.now(dt.UTC)
    for row in claim_all(a, "host-a:1:aa"):
        assert row.claimed_by == "host-a:1:aa"
        assert before + LEASE <= row.lease_until <= dt.datetime.now(dt.UTC) + LEASE  # not the desk's 2021 clock
    assert a.leases.held_by("host-a:1:aa") == 3


def test_a_live_claim_is_not_taken_back_by_another_process(two: tuple[Store, Store]) -> None:
    """B starting (its recover) or housekeeping while A works: A keeps every row it holds."""
    a, b = two
    fill(a)
    claim_all(a, "host-a:1:aa")
    assert b.leases.take_back_expired() == 0
    assert states(b) == CLAIMED
    assert b.raw.claim_next(T0, worker="host-b:2:bb") is None
    assert b.outbox.claim(T0, worker="host-b:2:bb") == []
    assert b.wecom_files.claim(T0, worker="host-b:2:bb") is None
    assert a.leases.held_by("host-a:1:aa") == 3


def test_an_expired_claim_is_taken_back_and_claimed_again_by_the_other(two: tuple[Store, Store]) -> None:
    a, b = two
    fill(a)
    raw, out, file = claim_all(a, "host-a:1:aa")  # then A hangs or dies: no renewal
    expired = max(raw.lease_until, out.lease_until, file.lease_until) + SECOND
    assert b.leases.take_back_expired(expired) == 3
    assert states(b) == QUEUED
    assert all(r.claimed_by is None and r.lease_until is None for r in [*b.raw.all(), *b.outbox.all()])
    again = claim_all(b, "host-b:2:bb")
    assert [r.id for r in again] == [raw.id, out.id, file.id]
    assert [r.attempts for r in again] == [2, 2, 2]  # A's lost attempt counts
    assert b.leases.held_by("host-b:2:bb") == 3 and b.leases.held_by("host-a:1:aa") == 0


def test_renewing_keeps_a_claim_alive_past_its_first_lease(two: tuple[Store, Store]) -> None:
    """Renewal is by worker: one call extends every row A holds, and none of B's."""
    a, b = two
    fill(a, 2)
    raw, out, file = claim_all(a, "host-a:1:aa", lease=SECOND)
    b_raw = b.raw.claim_next(T0, worker="host-b:2:bb", lease=SECOND)
    assert a.leases.renew("host-a:1:aa", LEASE) == 3
    after_first_lease = max(raw.lease_until, out.lease_until, file.lease_until, b_raw.lease_until) + SECOND
    assert b.leases.take_back_expired(after_first_lease) == 1  # B's own, unrenewed claim only
    assert a.leases.held_by("host-a:1:aa") == 3
    assert b.raw.get(raw.id).state == RawState.PROCESSING
    assert b.raw.get(b_raw.id).state == RawState.NEW


def test_a_heartbeat_renews_long_work_and_stopping_it_lets_the_lease_run_out(two: tuple[Store, Store]) -> None:
    """A two-minute video probe in miniature: work lasting several leases keeps its claim."""
    a, b = two
    fill(a)
    lease = dt.timedelta(seconds=0.6)
    claim_all(a, "host-a:1:aa", lease=lease)
    beat = LeaseHeartbeat(a.leases, lease, worker="host-a:1:aa", every=0.1).start()
    try:
        deadline = time.monotonic() + 2.0  # more than three leases
        while time.monotonic() < deadline:
            assert b.leases.take_back_expired() == 0
            time.sleep(0.1)
    finally:
        beat.stop()
    time.sleep(lease.total_seconds() + 0.2)
    assert b.leases.take_back_expired() == 3


def test_the_first_worker_cannot_finish_a_row_another_claimed_again(two: tuple[Store, Store]) -> None:
    """A wakes up after its rows were taken back and claimed by B: A's results are refused, B's stand."""
    a, b = two
    fill(a)
    raw, out, file = claim_all(a, "host-a:1:aa")
    b.leases.take_back_expired(max(raw.lease_until, out.lease_until, file.lease_until) + SECOND)
    claim_all(b, "host-b:2:bb")

    assert not a.raw.finish(raw.id, RawState.DONE, was=RawState.PROCESSING, worker="host-a:1:aa")
    assert a.raw.defer(raw.id, "ValueError: x", T0, transient=False, worker="host-a:1:aa") is None
    assert a.raw.quarantine(raw.id, "ValueError: x", worker="host-a:1:aa") is None
    assert a.outbox.mark_sent(out.id, T0, worker="host-a:1:aa") is None
    assert a.outbox.mark_failed(out.id, "SMTP 451", T0, worker="host-a:1:aa") is None
    assert not a.wecom_files.finish(file.id, WeComFileState.DONE, now=T0, worker="host-a:1:aa")
    assert states(a) == CLAIMED and a.leases.held_by("host-b:2:bb") == 3

    assert b.raw.finish(raw.id, RawState.DONE, was=RawState.PROCESSING, worker="host-b:2:bb")
    assert b.outbox.mark_sent(out.id, T0, worker="host-b:2:bb").state == OutboxState.SENT
    assert b.wecom_files.finish(file.id, WeComFileState.DONE, now=T0, worker="host-b:2:bb")
    assert states(a) == (RawState.DONE, OutboxState.SENT, WeComFileState.DONE)
    assert a.leases.held_by("host-b:2:bb") == 0  # finishing ends the lease


def test_a_sender_whose_row_was_taken_back_but_not_yet_reclaimed_may_still_mark_it_sent(
    two: tuple[Store, Store],
) -> None:
    """It did send: marking the row sent spares the second send another desk would make."""
    a, b = two
    fill(a)
    [out] = a.outbox.claim(T0, 1, worker="host-a:1:aa")
    b.leases.take_back_expired(out.lease_until + SECOND)
    assert a.outbox.mark_sent(out.id, T0, worker="host-a:1:aa").state == OutboxState.SENT
    assert b.outbox.claim(T0, worker="host-b:2:bb") == []


def test_rows_an_older_desk_claimed_without_a_lease_count_as_expired(two: tuple[Store, Store]) -> None:
    a, b = two
    fill(a)
    claim_all(a, "host-a:1:aa")
    with a.engine.begin() as conn:  # what a desk before leases left: "sending", no holder, no lease
        conn.execute(update(OutboxRecord).values(claimed_by=None, lease_until=None))
    assert b.leases.take_back_expired() == 1
    assert b.outbox.all()[0].state == OutboxState.PENDING


def test_a_dead_worker_of_this_host_is_known_dead_at_once(two: tuple[Store, Store]) -> None:
    """A desk restarted after SIGKILL on the same machine takes its predecessor's rows back at
    once; a live process's, or another host's, wait for their lease."""
    a, b = two
    fill(a, 3)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = host_id()
    dead, live = f"{host}:{gone.pid}:a1", f"{host}:{os.getppid()}:b2"
    elsewhere = f"{socket.gethostname()}:{gone.pid}:c3"  # same host name, another pid namespace or boot
    assert holder_is_dead(dead) and not holder_is_dead(live) and not holder_is_dead(elsewhere)
    assert not holder_is_dead(worker_id()) and not holder_is_dead("not-a-worker-id")
    for worker in (dead, live, elsewhere):
        a.raw.claim_next(T0, worker=worker)
    assert b.leases.take_back_expired() == 1
    assert sorted(r.claimed_by for r in b.raw.all(RawState.PROCESSING)) == sorted([live, elsewhere])


def test_two_processes_claiming_at_once_take_each_row_once(two: tuple[Store, Store]) -> None:
    a, b = two
    fill(a, 12)
    taken: dict[str, list[tuple[str, int]]] = {"A": [], "B": []}

    def work(store: Store, name: str) -> None:
        while True:
            raw = store.raw.claim_next(T0, worker=name)
            outs = store.outbox.claim(T0, 2, worker=name)
            file = store.wecom_files.claim(T0, worker=name)
            got = [("raw", raw.id)] if raw else []
            got += [("out", o.id) for o in outs] + ([("file", file.id)] if file else [])
            if not got:
                return
            taken[name].extend(got)

    threads = [threading.Thread(target=work, args=(s, n)) for s, n in ((a, "A"), (b, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = taken["A"] + taken["B"]
    assert len(every) == len(set(every)) == 36  # each row once, by one of them
    assert a.leases.held_by("A") + a.leases.held_by("B") == 36
