"""WeCom files (storage/wecom_files.py): the durable queue bot/files.py works off.

What the bot relies on: a file is stored once per WeCom message; a claimed file is not claimed
again until its lease runs out (then it is, as its worker is taken to have died); a finished
file is done, given up or back to pending until its retry time; resume makes files waiting out a
backoff due at once; a postponed file that was never tried still counts no attempt.
"""

from __future__ import annotations

import datetime as dt

from storage.repo import Store
from storage.tables import WeComFileState
from tests.storage.threads import claim_in_threads

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
SECOND = dt.timedelta(seconds=1)


def add(store: Store, key: str = "msg-1", *, user: str = "zhangsan", at: dt.datetime = T0) -> bool:
    return store.wecom_files.add(key, user, f"media-{key}", f"{key}.zip", at)


def test_add_keeps_a_file_once_per_message(store: Store) -> None:
    assert add(store)
    assert not store.wecom_files.add("msg-1", "zhangsan", "other-media", "other.zip", T0)  # WeCom's retry
    [row] = store.wecom_files.all()
    assert (row.msg_key, row.user_id, row.media_id, row.filename) == ("msg-1", "zhangsan", "media-msg-1", "msg-1.zip")
    assert row.state == WeComFileState.PENDING and row.attempts == 0
    assert row.received_at == T0 and row.next_attempt_at == T0  # due at once
    assert row.claimed_at is None and row.done_at is None and row.last_error is None
    assert len(store.audit.entries(action="wecom.file_received")) == 1


def test_claim_takes_a_due_file_once_oldest_first(store: Store) -> None:
    add(store, "msg-1")
    add(store, "msg-2", at=T0 + SECOND)
    assert store.wecom_files.claim(T0 - SECOND, LEASE) is None  # not due before it was received

    first = store.wecom_files.claim(T0 + SECOND, LEASE)
    assert first.msg_key == "msg-1"
    assert first.state == WeComFileState.WORKING and first.attempts == 1 and first.claimed_at == T0 + SECOND
    second = store.wecom_files.claim(T0 + SECOND, LEASE)
    assert second.msg_key == "msg-2"
    assert store.wecom_files.claim(T0 + SECOND, LEASE) is None  # none handed out twice
    assert [r.msg_key for r in store.wecom_files.all(WeComFileState.WORKING)] == ["msg-1", "msg-2"]


def test_a_claim_holds_until_its_lease_runs_out(store: Store) -> None:
    """A worker that died while "working" leaves its file to the next one, but only after the lease."""
    add(store)
    claimed = store.wecom_files.claim(T0, LEASE)
    assert claimed.claimed_by and claimed.lease_until is not None
    assert store.wecom_files.claim(T0 + LEASE, LEASE) is None  # "working": not due, whatever the desk's clock
    assert store.leases.take_back_expired(claimed.lease_until - SECOND) == 0  # its worker may still be at it
    assert store.leases.take_back_expired(claimed.lease_until + SECOND) == 1

    again = store.wecom_files.claim(T0 + LEASE, LEASE)
    assert again is not None and again.id == claimed.id
    assert again.state == WeComFileState.WORKING
    assert again.attempts == 2  # the lost attempt counts (bot/files.py's backoff and its message)
    assert again.claimed_at == T0 + LEASE
    assert again.lease_until > claimed.lease_until  # the new claim has its own lease


def test_threads_never_claim_the_same_file(store: Store) -> None:
    keys = {f"msg-{i}" for i in range(20)}
    for key in sorted(keys):
        add(store, key)
    rows = claim_in_threads(lambda: store.wecom_files.claim(T0, LEASE), most=len(keys))
    claimed = [row.msg_key for row in rows]
    assert sorted(claimed) == sorted(keys)  # every file once, none twice
    assert all(r.attempts == 1 for r in store.wecom_files.all())


def test_finish_done_is_final(store: Store) -> None:
    add(store)
    row = store.wecom_files.claim(T0, LEASE)
    store.wecom_files.finish(row.id, WeComFileState.DONE, now=T0 + SECOND)

    [done] = store.wecom_files.all(WeComFileState.DONE)
    assert done.id == row.id and done.done_at == T0 + SECOND and done.claimed_at is None
    assert store.wecom_files.claim(T0 + dt.timedelta(days=1), LEASE) is None  # not even after a lease
    assert store.audit.entries(action="wecom.file_done")[0].detail["file_id"] == row.id


def test_finish_pending_retries_at_its_time_with_the_error_masked(store: Store) -> None:
    add(store)
    row = store.wecom_files.claim(T0, LEASE)
    retry_at = T0 + dt.timedelta(minutes=2)
    store.wecom_files.finish(row.id, WeComFileState.PENDING, now=T0, error="下载失败 13812345678", retry_at=retry_at)

    [pending] = store.wecom_files.all(WeComFileState.PENDING)
    assert pending.next_attempt_at == retry_at and pending.claimed_at is None and pending.done_at is None
    assert "下载失败" in pending.last_error and "13812345678" not in pending.last_error
    assert store.wecom_files.claim(retry_at - SECOND, LEASE) is None
    again = store.wecom_files.claim(retry_at, LEASE)
    assert again.id == row.id and again.attempts == 2
    assert store.audit.entries(action="wecom.file_pending") == []  # a retry is not an outcome


def test_finish_expired_gives_up_for_good(store: Store) -> None:
    add(store)
    row = store.wecom_files.claim(T0, LEASE)
    store.wecom_files.finish(row.id, WeComFileState.EXPIRED, now=T0, error="40007 invalid media_id 13812345678")

    [expired] = store.wecom_files.all(WeComFileState.EXPIRED)
    assert expired.done_at == T0 and "13812345678" not in expired.last_error
    assert store.wecom_files.claim(T0 + dt.timedelta(days=4), LEASE) is None
    [entry] = store.audit.entries(action="wecom.file_expired")
    assert entry.detail["file_id"] == row.id and "13812345678" not in entry.detail["error"]


def test_postponing_an_untried_file_counts_no_attempt(store: Store) -> None:
    """bot/files.py holds a nameless image this way, and tells held files by attempts == 0."""
    add(store)
    [row] = store.wecom_files.all()
    until = T0 + dt.timedelta(minutes=10)
    store.wecom_files.finish(row.id, WeComFileState.PENDING, now=T0, retry_at=until)

    [held] = store.wecom_files.all(WeComFileState.PENDING)
    assert held.attempts == 0 and held.next_attempt_at == until and held.last_error is None
    assert store.wecom_files.claim(until - SECOND, LEASE) is None
    store.wecom_files.finish(row.id, WeComFileState.PENDING, now=T0 + SECOND)  # named: released at once
    assert store.wecom_files.claim(T0 + SECOND, LEASE).id == row.id


def test_resume_makes_waiting_files_due_at_once(store: Store) -> None:
    """At start: a backoff left by an earlier run ends now; other rows are left as they are."""
    add(store, "crashed")
    crashed = store.wecom_files.claim(T0, SECOND)  # its worker then dies
    add(store, "backoff")
    tried = store.wecom_files.claim(T0, LEASE)  # failed once: waits out a backoff
    store.wecom_files.finish(tried.id, WeComFileState.PENDING, now=T0, retry_at=T0 + dt.timedelta(hours=1))
    for key in ("held", "due", "done"):
        add(store, key)
    rows = {r.msg_key: r for r in store.wecom_files.all()}
    # A nameless image held for its name (never tried): waiting, but not out a backoff.
    store.wecom_files.finish(rows["held"].id, WeComFileState.PENDING, now=T0, retry_at=T0 + dt.timedelta(minutes=10))
    store.wecom_files.finish(rows["done"].id, WeComFileState.DONE, now=T0)

    restart = T0 + dt.timedelta(minutes=1)
    assert store.wecom_files.resume(restart) == 1  # only the backoff: the held file keeps waiting for its name
    assert [r.msg_key for r in store.wecom_files.waiting("zhangsan", restart)] == ["held"]

    after = {r.msg_key: r for r in store.wecom_files.all()}
    assert after["backoff"].state == WeComFileState.PENDING and after["backoff"].next_attempt_at == restart
    assert after["done"].state == WeComFileState.DONE
    # A row left "working" by a crash is not resumed: its lease brings it back.
    assert after["crashed"].state == WeComFileState.WORKING and after["crashed"].claimed_at == T0
    assert after["due"].next_attempt_at == T0  # already due: untouched
    assert after["held"].next_attempt_at == T0 + dt.timedelta(minutes=10)
    assert [store.wecom_files.claim(restart, LEASE).msg_key for _ in range(2)] == ["backoff", "due"]
    assert store.wecom_files.claim(restart, LEASE) is None
    assert store.leases.take_back_expired(crashed.lease_until + SECOND) == 1  # its lease ran out, not theirs
    assert store.wecom_files.claim(restart, LEASE).id == crashed.id
    assert store.wecom_files.resume(restart) == 0  # nothing waits out a backoff any more


def test_all_filters_by_state_in_order_of_arrival(store: Store) -> None:
    for key in ("a", "b", "c"):
        add(store, key)
    rows = store.wecom_files.all()
    assert [r.msg_key for r in rows] == ["a", "b", "c"]
    store.wecom_files.finish(rows[1].id, WeComFileState.DONE, now=T0)
    store.wecom_files.claim(T0, LEASE)  # "a"
    assert [r.msg_key for r in store.wecom_files.all(WeComFileState.PENDING)] == ["c"]
    assert [r.msg_key for r in store.wecom_files.all(WeComFileState.WORKING)] == ["a"]
    assert [r.msg_key for r in store.wecom_files.all(WeComFileState.DONE)] == ["b"]
    assert store.wecom_files.all(WeComFileState.EXPIRED) == []
