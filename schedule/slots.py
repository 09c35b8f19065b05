"""When reminders and digests are due, from the campaign's `[reminders]` and `[digest]`."""

from __future__ import annotations

import datetime as dt
import re
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


def due_slot(
    plan: list[Slot], now: dt.datetime, deadline_end: dt.datetime, catch_up: dt.timedelta | None = None
) -> Slot | None:
    """The slot due at `now`; only ever the latest whose time has come, so a desk that was down
    never sends a burst of superseded rounds.

    Catch-up policy (the desk may have been down on a slot's day):
    - the after-deadline slot (the units' final notice and the office's list) stays due from its
      time on, on any later day within `catch_up` (the campaign's `reminders.catch_up_days`),
      until it has been sent (jobs.py sends its round once); a desk first started long after the
      campaign sends nothing;
    - a pre-deadline slot is due on its own day, and after it only while it is still the latest
      slot and the deadline has not passed: a missed 7-days-before round goes out on day 5
      rather than not at all, its countdown written from the time it is sent ("还剩 5 天"),
      and is dropped as soon as the 3-days-before slot comes; nothing pre-deadline is sent once
      the deadline is over.
    """
    passed = [s for s in plan if s.at <= now]
    if not passed:
        return None
    latest = passed[-1]
    if latest.kind == AFTER:
        return latest if catch_up is None or now <= latest.at + catch_up else None
    return latest if now < deadline_end else None


def slot_label(key: str) -> str:
    """A slot key in Chinese, as the office reads it: "before-3d:2021-08-27" is
    "截止前3天提醒（2021年8月27日）". A key of another form is returned as it is."""
    found = re.fullmatch(r"(before|after)-(\d+)d:(\d{4})-(\d{2})-(\d{2})", key)
    if found is None:
        return key
    kind, days, year, month, day = found.groups()
    date = f"{int(year)}年{int(month)}月{int(day)}日"
    if kind == AFTER:
        return f"截止后通知（{date}）"
    return f"截止当天提醒（{date}）" if days == "0" else f"截止前{days}天提醒（{date}）"


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
