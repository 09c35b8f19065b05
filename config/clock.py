"""The desk's clock: real time, or a rehearsal's campaign time that starts at a chosen instant and runs faster.

Everything the running desk decides by time (is a reminder or the digest due, is the deadline
over, did a mail come late, how many days are left in a reply) reads the one clock the desk is
built with (`nomdesk.wiring.open_desk`); this module makes that clock from the settings
(`NOMDESK_CLOCK_START`, `NOMDESK_CLOCK_SPEED`), so the office can try a past or future campaign
on today's machine without touching the code. Storage timestamps of bookkeeping (created_at,
a login's session) stay real time: they decide nothing a unit or the office is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def real_now() -> dt.datetime:
    """The wall clock, aware, in UTC: the desk's clock unless a rehearsal asks for another."""
    return dt.datetime.now(dt.UTC)


def parse_start(text: str, tz: dt.tzinfo) -> dt.datetime:
    """An ISO date ("2021-08-01": its midnight) or date-time; without a zone it is the campaign's
    local time (the office thinks in Beijing time, not UTC). ValueError, in Chinese, otherwise."""
    value = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"时间“{text}”无法识别，请写成 2021-08-01 或 2021-08-01T09:00") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


class CampaignClock:
    """Starts at `start` when made and runs `speed` times faster than the wall clock.

    At speed 600 a campaign day passes in 2.4 real minutes, a month in 72."""

    def __init__(self, start: dt.datetime, speed: float = 1.0, *, real: Clock = real_now) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be aware")
        if not speed > 0:
            raise ValueError(f"时钟倍速须大于 0（现为 {speed}）")
        self.start = start
        self.speed = float(speed)
        self._real = real
        self._origin = real()

    def __call__(self) -> dt.datetime:
        return self.at(self._real())

    def at(self, real: dt.datetime) -> dt.datetime:
        """The campaign instant of a real one (a drop-folder file's mtime, an IMAP arrival): a mail
        arriving during a rehearsal arrived at the rehearsal's time, not in the real year."""
        return (self.start + (real - self._origin) * self.speed).astimezone(dt.UTC)


def campaign_clock(start: str | None, speed: float | None, tz: dt.tzinfo) -> Clock:
    """The clock NOMDESK_CLOCK_START / NOMDESK_CLOCK_SPEED ask for: the wall clock when neither
    says otherwise; a speed alone runs faster from now."""
    if not start and (speed is None or speed == 1):
        return real_now
    begin = parse_start(start, tz) if start else real_now()
    return CampaignClock(begin, 1.0 if speed is None else speed)


def arrival_time(clock: Clock, real: dt.datetime) -> dt.datetime:
    """When a message a source saw at the real instant `real` arrived in the desk's time: the same
    instant on the wall clock; on a rehearsal's clock, where that clock was at that instant."""
    mapper = getattr(clock, "at", None)
    return mapper(real) if callable(mapper) else real


def speed_of(clock: Clock) -> float:
    """How much faster than the wall clock `clock` runs (1 for the wall clock and a test's)."""
    speed = getattr(clock, "speed", 1.0)
    return float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0


def describe(clock: Clock, tz: dt.tzinfo) -> str:
    """The clock in a line for the operator ("" for the wall clock): a desk on a rehearsal's clock
    sends dates and deadlines that are not today's, and must say so when it starts."""
    if not isinstance(clock, CampaignClock):
        return ""
    start = clock.start.astimezone(tz)
    pace = f"，{clock.speed:g} 倍速" if clock.speed != 1 else ""
    return f"演练时钟：从 {start:%Y-%m-%d %H:%M} 起{pace}"


class SteppedClock:
    """A rehearsal's clock that stands at the instant its driver set (`advance`): every part of the
    desk reading it in one tick agrees on the time, so a rehearsal sends the same on a fast machine
    and a slow one. `speed` is the pace its driver keeps to, for whoever asks."""

    def __init__(self, start: dt.datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be aware")
        self.current = start.astimezone(dt.UTC)
        self.speed = float(speed)

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, step: dt.timedelta) -> dt.datetime:
        self.current += step
        return self.current

    def at(self, real: dt.datetime) -> dt.datetime:
        """A mail seen during a tick arrived at that tick's instant."""
        return self.current
