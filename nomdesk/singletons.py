"""One of each singleton among the desk processes of one database: who polls, who ticks.

Several `nomdesk serve` may share one database (and, on SQLite, one data directory). The IMAP
poller, the drop-folder watcher and the scheduler must each run in one of them only: two
pollers would fetch every mail twice and race on the mailbox's progress row, two tickers would
each decide the same reminder round (the unique rows stop a second send, but not a second
piece of work on every tick). A role runs while its process holds the role's lock
(storage/locks.py); the other processes stand by and try again every `standby_seconds`, so
when the holder dies (its lock goes with it) another takes over within that time. A holder
that finds its lock gone (the database dropped its connection) stops the role at once: by then
another process may have taken it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from storage.locks import Held

log = logging.getLogger(__name__)

# How often a holder checks it still holds its lock (at most; sooner when standing by is quicker).
ALIVE_CHECK_SECONDS = 5.0
ROLE_STOP_SECONDS = 30.0  # a stopping role (an IMAP fetch in flight) gets this long to finish


class Singleton:
    """A role (`run(stop)`, returning once `stop` is set) run only while this process holds its lock."""

    def __init__(
        self,
        name: str,
        acquire: Callable[[], Held | None],
        run: Callable[[threading.Event], None],
        *,
        standby_seconds: float,
    ) -> None:
        self.name = name
        self.acquire = acquire
        self.run = run
        self.standby_seconds = max(0.05, standby_seconds)
        self.check_seconds = min(ALIVE_CHECK_SECONDS, self.standby_seconds)
        self.held: Held | None = None
        self.taken = 0  # how often this process took the role (a test and the log read it)
        self._thread: threading.Thread | None = None

    @property
    def holding(self) -> bool:
        return self.held is not None

    def start(self, stop: threading.Event) -> None:
        """Try once now (a lone desk starts its roles at once), then stand by in a thread."""
        first = self.held = self._try()
        self._thread = threading.Thread(target=self._loop, args=(stop, first), name=f"nomdesk-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _try(self) -> Held | None:
        try:
            return self.acquire()
        except Exception as exc:  # the database is away: stand by and try again
            log.warning("%s: cannot try its lock now: %s", self.name, exc)
            return None

    def _loop(self, stop: threading.Event, held: Held | None) -> None:
        while not stop.is_set():
            if held is None:
                stop.wait(self.standby_seconds)
                if stop.is_set():
                    return
                held = self._try()
                continue
            self._hold(stop, held)
            held = None

    def _hold(self, stop: threading.Event, held: Held) -> None:
        """Run the role until the service stops, the role ends by itself, or the lock is lost."""
        self.held = held
        self.taken += 1
        log.info("%s: this process (pid %d) runs it", self.name, os.getpid())
        role_stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(role_stop,), name=f"nomdesk-{self.name}-role", daemon=True)
        thread.start()
        try:
            while not stop.is_set() and thread.is_alive():
                if not held.alive():
                    log.warning("%s: its lock is lost (database connection gone); stopping it here", self.name)
                    break
                stop.wait(self.check_seconds)
        finally:
            role_stop.set()
            thread.join(ROLE_STOP_SECONDS)
            self.held = None
            held.release()
            log.info("%s: this process (pid %d) no longer runs it", self.name, os.getpid())

    def _run(self, stop: threading.Event) -> None:
        try:
            self.run(stop)
        except Exception:
            log.exception("%s stopped with an error; its lock is let go", self.name)
