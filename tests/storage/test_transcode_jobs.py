"""Jobs making compliant copies of videos: one per (unit, source file), claimed by one desk at a
time under a lease, given back when that desk dies, and accepted at most once."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from storage.repo import Store
from storage.tables import FileRecord, TranscodeState

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
UNIT = "延边朝鲜族自治州教育局"
LEASE = dt.timedelta(seconds=30)


def _video(store: Store) -> int:
    raw, _ = store.raw.put(b"Message-ID: <v@x>\r\n\r\nbody\r\n", source="cli", received_at=T0)
    row, _ = store.submissions.add(raw.id, unit_name=UNIT, arrived_at=T0)
    with Session(store.engine) as s:
        record = FileRecord(submission_id=row.id, path="朴英子/视频.mov", sha256="0" * 64, size=1, kind="video")
        s.add(record)
        s.commit()
        return record.id or 0


def test_offering_twice_is_one_job_and_a_failed_one_is_queued_again(store: Store) -> None:
    file_id = _video(store)
    first = store.transcodes.offer(UNIT, file_id, "朴英子/视频.mov", "朴英子", "office:wu")
    again = store.transcodes.offer(UNIT, file_id, "朴英子/视频.mov", "朴英子", "link:3")
    assert first.id == again.id and again.state == TranscodeState.QUEUED
    job = store.transcodes.claim(LEASE, worker="a")
    assert job is not None and job.id == first.id
    assert store.transcodes.fail(job.id, "视频转换失败", worker="a")
    assert store.transcodes.offer(UNIT, file_id, "朴英子/视频.mov", "朴英子", "link:3").state == TranscodeState.QUEUED
    assert [j.id for j in store.transcodes.of_unit(UNIT)] == [first.id]


def test_two_desks_never_make_one_copy_and_a_dead_desks_job_is_taken_up(store: Store) -> None:
    file_id = _video(store)
    offered = store.transcodes.offer(UNIT, file_id, "朴英子/视频.mov", "朴英子", "office:wu")
    held = store.transcodes.claim(LEASE, worker="desk-a")
    assert held is not None and held.claimed_by == "desk-a"
    assert store.transcodes.claim(LEASE, worker="desk-b") is None  # a live lease is never taken
    assert store.transcodes.report(offered.id or 0, 0.5, LEASE, worker="desk-a")

    # desk-a stops renewing (it died): once its lease ran out, desk-b takes the job up.
    assert store.transcodes.report(offered.id or 0, 0.6, dt.timedelta(seconds=-1), worker="desk-a")
    taken = store.transcodes.claim(LEASE, worker="desk-b")
    assert taken is not None and taken.id == offered.id and taken.attempts == 2 and taken.progress == 0.0
    # desk-a's late result is dropped; desk-b's counts.
    assert not store.transcodes.finish(offered.id or 0, "a" * 64, 10, worker="desk-a")
    assert store.transcodes.finish(offered.id or 0, "b" * 64, 20, worker="desk-b")
    done = store.transcodes.get(offered.id or 0)
    assert done is not None and (done.state, done.output_sha256, done.progress) == (TranscodeState.DONE, "b" * 64, 1.0)


def test_a_copy_is_accepted_once(store: Store) -> None:
    file_id = _video(store)
    job = store.transcodes.offer(UNIT, file_id, "朴英子/视频.mov", "朴英子", "office:wu")
    assert not store.transcodes.decide(job.id or 0, TranscodeState.ACCEPTED, "link:3")  # not made yet
    store.transcodes.claim(LEASE, worker="a")
    store.transcodes.finish(job.id or 0, "c" * 64, 5, worker="a")
    assert store.transcodes.decide(job.id or 0, TranscodeState.ACCEPTED, "link:3")
    assert not store.transcodes.decide(job.id or 0, TranscodeState.ACCEPTED, "link:3")
    assert not store.transcodes.decide(job.id or 0, TranscodeState.KEPT, "office:wu")
    [audit] = store.audit.entries(action="transcode.accepted")
    assert (audit.actor, audit.unit_name) == ("link:3", UNIT)
