"""What changed since the office's last digest: a small snapshot of each digest, kept between days.

The office reads the digest on a phone each morning and wants to know what is new, not to compare
two walls of counts by eye. Each sent digest leaves a snapshot (per unit: how many submissions,
its state, its open errors, whether its paper arrived; the ids of the mails waiting for 确认) in
the state key-value store; the next day's digest compares with it. The value keeps the latest
snapshot and the one before, so a digest built again later on the same day (`nomdesk digest`,
a retried send) still compares with the previous day's and not with itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from schedule.status import UnitState
from storage.repo import Store

SNAPSHOT_KEY = "digest-snapshot"
PROBLEM_STATES = frozenset({UnitState.INCOMPLETE, UnitState.CHECK_FAILED})


@dataclass(frozen=True)
class UnitFacts:
    submissions: int
    state: str  # a UnitState value (read back from JSON as a plain string)
    errors: int
    paper: bool


@dataclass
class Snapshot:
    """What one day's digest reported: enough to say tomorrow what changed."""

    day: dt.date
    at: dt.datetime
    units: dict[str, UnitFacts] = field(default_factory=dict)
    waiting_ids: frozenset[int] = frozenset()

    def to_json(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "at": self.at.isoformat(),
            "units": {u: [f.submissions, f.state, f.errors, f.paper] for u, f in self.units.items()},
            "waiting": sorted(self.waiting_ids),
        }

    @classmethod
    def from_json(cls, data: dict) -> Snapshot:
        return cls(
            day=dt.date.fromisoformat(data["day"]),
            at=dt.datetime.fromisoformat(data["at"]),
            units={u: UnitFacts(int(s), str(st), int(e), bool(p)) for u, (s, st, e, p) in data["units"].items()},
            waiting_ids=frozenset(int(i) for i in data.get("waiting", [])),
        )


@dataclass
class Changes:
    """Since the snapshot `since`: each list names the units (the message counts them, the
    workbook lists them)."""

    since: Snapshot
    submissions: int = 0  # new submissions, all units together
    first_time: list[str] = field(default_factory=list)  # units that sent their first package
    newly_complete: list[str] = field(default_factory=list)
    new_problems: list[str] = field(default_factory=list)  # newly 待修改/检查未完成, or more errors than before
    new_waiting: int = 0  # mails that joined the 待确认 queue
    new_paper: list[str] = field(default_factory=list)  # units whose paper copies arrived

    @property
    def empty(self) -> bool:
        return not (
            self.submissions
            or self.first_time
            or self.newly_complete
            or self.new_problems
            or self.new_waiting
            or self.new_paper
        )


def compare(previous: Snapshot, current: Snapshot) -> Changes:
    changes = Changes(since=previous)
    none = UnitFacts(0, UnitState.NOTHING, 0, False)
    for unit, now in current.units.items():
        before = previous.units.get(unit, none)
        changes.submissions += max(0, now.submissions - before.submissions)
        if now.submissions and not before.submissions:
            changes.first_time.append(unit)
        if now.state == UnitState.COMPLETE and before.state != UnitState.COMPLETE:
            changes.newly_complete.append(unit)
        if now.state in PROBLEM_STATES and (now.state != before.state or now.errors > before.errors):
            changes.new_problems.append(unit)
        if now.paper and not before.paper:
            changes.new_paper.append(unit)
    changes.new_waiting = len(current.waiting_ids - previous.waiting_ids)
    return changes


# ---- kept in the state key-value store -----------------------------------------------------------


def previous_snapshot(store: Store, day: dt.date) -> Snapshot | None:
    """The latest snapshot of a digest before `day` (None: this is the first digest)."""
    kept = _read(store)
    for snapshot in kept:
        if snapshot.day < day:
            return snapshot
    return None


def keep_snapshot(store: Store, snapshot: Snapshot) -> None:
    """Remember the digest of `snapshot.day` (the first one sent that day stays: it is what the
    office read), and the one before it."""
    kept = _read(store)
    if any(s.day == snapshot.day for s in kept):
        return
    value = [snapshot, *[s for s in kept if s.day < snapshot.day][:1]]
    store.state.kv_set(SNAPSHOT_KEY, json.dumps([s.to_json() for s in value], ensure_ascii=False))


def _read(store: Store) -> list[Snapshot]:
    """The kept snapshots, newest first ([] when none or unreadable: a digest never fails on it)."""
    raw = store.state.kv_get(SNAPSHOT_KEY)
    if not raw:
        return []
    try:
        snapshots = [Snapshot.from_json(item) for item in json.loads(raw)]
    except (ValueError, KeyError, TypeError):
        return []
    return sorted(snapshots, key=lambda s: s.day, reverse=True)
