"""When reminders and digests are due, from the campaign's `[reminders]` and `[digest]`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from config.campaign import Campaign

BEFORE = "before"
AFTER = "after"


@dataclass(frozen=True)
class Slot:
    """One reminder round: `days` before the deadline day (0: its morning), or after it."""

    kind: str  # BEFORE or AFTER
    days: int
    at: dt.datetime  # aware, in the campaign's zone

    @property
    def key(self) -> str:
        """Stable across restarts and processes: the reminder's identity in storage."""
        return f"{self.kind}-{self.days}d:{self.at.date().isoformat()}"


def reminder_plan(campaign: Campaign) -> list[Slot]:
    """Every reminder slot of the campaign, in time order."""
    r = campaign.reminders
    slots = [
        Slot(BEFORE, days, dt.datetime.combine(campaign.deadline - dt.timedelta(days=days), r.time, campaign.tz))
        for days in set(r.days_before)
    ]
    after_day = campaign.deadline + dt.timedelta(days=r.after_deadline_days)
    slots.append(Slot(AFTER, r.after_deadline_days, dt.datetime.combine(after_day, r.time, campaign.tz)))
    return sorted(slots, key=lambda s: s.at)


def due_slot(plan: list[Slot], now: dt.datetime) -> Slot | None:
    """The slot due at `now`: the latest whose time has come, on its own day only. A desk that was
    down catches up later that day, but never sends a day-old round ("3 days left" when 2 are)
    nor a burst of superseded ones."""
    passed = [s for s in plan if s.at <= now]
    if not passed:
        return None
    latest = passed[-1]
    return latest if now.astimezone(latest.at.tzinfo).date() == latest.at.date() else None


def digest_due(campaign: Campaign, now: dt.datetime) -> dt.date | None:
    """Today's digest date once its time has passed (local time), within the digest's days."""
    local = now.astimezone(campaign.tz)
    day = local.date()
    if local.time() < campaign.digest.time:
        return None
    last = campaign.digest.days_after_deadline
    if last is not None and day > campaign.deadline + dt.timedelta(days=last):
        return None
    return day
