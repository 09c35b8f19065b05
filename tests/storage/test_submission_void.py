"""The office voids (作废) a submission: it leaves its unit's listing, keeps its number, is audited
in the same transaction, and can be taken back; nothing is deleted."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.repo import Store

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
UNIT = "长春市教育局"


def _submission(store: Store, n: int, unit: str | None = UNIT) -> int:
    raw, _ = store.raw.put(f"Message-ID: <{n}@x>\r\n\r\nbody {n}\r\n".encode(), source="cli", received_at=T0)
    row, _ = store.submissions.add(raw.id, unit_name=unit, arrived_at=T0 + dt.timedelta(hours=n))
    return row.id


def test_a_voided_submission_leaves_the_listing_and_keeps_its_number(store: Store) -> None:
    ids = [_submission(store, n) for n in range(1, 5)]  # 长春-01 … 长春-04

    voided = store.submissions.void(ids[2], actor="office:wu", reason="冒用联系人邮箱发送")

    assert (voided.voided_by, voided.void_reason, voided.unit_index) == ("office:wu", "冒用联系人邮箱发送", 3)
    assert voided.voided_at is not None
    assert [s.unit_index for s in store.submissions.of_unit(UNIT)] == [1, 2, 4]
    assert [s.unit_index for s in store.submissions.of_unit(UNIT, include_voided=True)] == [1, 2, 3, 4]
    assert [s.id for s in store.submissions.voided_of(UNIT)] == [ids[2]]
    # The next submission is 长春-05: the voided 03 is never given out again.
    assert store.submissions.get(_submission(store, 5)).unit_index == 5
    # Nothing is deleted: the row and its raw mail are still there.
    kept = store.submissions.get(ids[2])
    assert kept is not None and store.raw.get(kept.raw_message_id) is not None
    [audit] = store.audit.entries(action="submission.voided")
    assert (audit.actor, audit.unit_name) == ("office:wu", UNIT)
    assert audit.detail == {
        "submission_id": ids[2],
        "raw_id": kept.raw_message_id,
        "unit_index": 3,
        "reason": "冒用联系人邮箱发送",
    }
    # The unit's count (campaign page, digest, bot) no longer has it.
    [row] = [u for u in store.overview.units() if u.name == UNIT]
    assert row.submissions == 4  # 01, 02, 04, 05


def test_voiding_twice_or_without_a_reason_is_refused_and_writes_nothing(store: Store) -> None:
    sub = _submission(store, 1)
    with pytest.raises(ValueError, match="请填写作废原因"):
        store.submissions.void(sub, actor="office:wu", reason="  ")
    store.submissions.void(sub, actor="office:wu", reason="重复发送")
    with pytest.raises(ValueError, match="已由 office:wu 作废，无需重复操作"):
        store.submissions.void(sub, actor="office:li", reason="另一位办事员")
    with pytest.raises(KeyError):
        store.submissions.void(9999, actor="office:wu", reason="不存在")
    assert store.submissions.get(sub).void_reason == "重复发送"
    assert len(store.audit.entries(action="submission.voided")) == 1


def test_a_void_is_taken_back_under_the_same_number(store: Store) -> None:
    first, second = _submission(store, 1), _submission(store, 2)
    store.submissions.void(second, actor="office:wu", reason="点错了")
    restored = store.submissions.unvoid(second, actor="office:wu")

    assert restored.voided_at is None and restored.voided_by is None and restored.void_reason is None
    assert [s.id for s in store.submissions.of_unit(UNIT)] == [first, second]
    assert store.submissions.get(second).unit_index == 2
    assert store.submissions.voided_of(UNIT) == []
    [audit] = store.audit.entries(action="submission.unvoided")
    assert audit.detail["voided_by"] == "office:wu" and audit.detail["reason"] == "点错了"
    with pytest.raises(ValueError, match="没有作废"):
        store.submissions.unvoid(second, actor="office:wu")


def test_voids_since_a_moment_are_what_a_receipt_reports(store: Store) -> None:
    early, late = _submission(store, 1), _submission(store, 2)
    store.submissions.void(early, actor="office:wu", reason="一")
    between = store.submissions.get(early).voided_at
    store.submissions.void(late, actor="office:wu", reason="二")
    assert [s.id for s in store.submissions.voided_of(UNIT)] == [early, late]
    assert [s.id for s in store.submissions.voided_of(UNIT, since=between)] == [late]


def test_a_voided_mail_leaves_the_waiting_queue_and_cannot_be_assigned(store: Store) -> None:
    waiting = _submission(store, 1, unit=None)
    assert [s.id for s in store.submissions.waiting()] == [waiting]
    store.submissions.void(waiting, actor="office:wu", reason="垃圾邮件")
    assert store.submissions.waiting() == [] and store.submissions.waiting_mails() == []
    with pytest.raises(ValueError):
        store.submissions.assign_unit(waiting, UNIT, actor="office:wu", only_waiting=True)
