"""A clock tests set by hand (`clock.now = ...`), the desk's `Clock` protocol: a callable giving now."""

from __future__ import annotations

import datetime as dt


class Clock:
    """Stands still unless the test moves it; with `step`, every reading is `step` later than the last
    (a desk whose every action is a little later, so submissions keep their order)."""

    def __init__(self, now: dt.datetime, step: dt.timedelta | None = None) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> dt.datetime:
        if self.step is not None:
            self.now += self.step
        return self.now
