"""`nomdesk serve`: the sources, the pipeline worker and the outbox, side by side.

Each part is a loop in its own thread around one idempotent step, so stopping (or
being killed) at any point and starting again picks up exactly where it was: raw
messages left "processing" and outbox rows left "sending" are put back in the queue
on start.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.callback import WeComBot
from config.campaign import Campaign
from config.clock import arrival_time, speed_of
from config.settings import Settings
from intake.sources.base import IncomingRef
from intake.sources.imap import ImapPoller
from intake.sources.maildir import MaildirSource
from nomdesk import wiring
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from schedule.scheduler import DEFAULT_INTERVAL, DeskScheduler
from storage.repo import Store

log = logging.getLogger(__name__)

# People `cp` mail straight into the drop folder's new/: give a copy this long to finish.
DROP_FOLDER_SETTLE_SECONDS = 2.0
HOUSEKEEPING_EVERY_SECONDS = 60.0
STALE_PROCESSING = dt.timedelta(minutes=30)  # the biggest package takes a minute or two to read
STALE_SENDING = dt.timedelta(minutes=10)  # an SMTP send times out long before this


class StoreMailboxState:
    """The IMAP poller's progress kept in the database (MailboxStateStore protocol)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> tuple[int, int] | None:
        row = self.store.state.get_mailbox(key)
        if row is None or row.uidvalidity is None:
            return None
        return row.uidvalidity, row.last_uid

    def set(self, key: str, uidvalidity: int, last_uid: int) -> None:
        self.store.state.set_mailbox(key, uidvalidity, last_uid)


@dataclass
class Service:
    settings: Settings
    campaign: Campaign
    store: Store
    desk: Desk
    outbox: OutboxWorker
    poll_interval: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    _last_housekeeping: float = 0.0
    imap: ImapPoller | None = None
    maildir: MaildirSource | None = None
    bot: WeComBot | None = None
    scheduler: DeskScheduler | None = None

    @classmethod
    def build(
        cls, settings: Settings, campaign: Campaign, *, clock: Callable[[], dt.datetime] | None = None
    ) -> Service:
        """`clock`: None is the settings' (real time, or NOMDESK_CLOCK_START/_SPEED's rehearsal)."""
        desk = wiring.open_desk(settings, campaign, clock=clock)
        store = desk.store
        channels, client = wiring.chat_channels(settings, store)
        service = cls(settings, campaign, store, desk, wiring.outbox_worker(desk, channels))
        # On a faster clock the tick comes as often in campaign time as on the real one (a second at
        # the least: at speed 600 every second, ten campaign minutes), or a day's digest could be skipped.
        interval = dt.timedelta(seconds=max(1.0, DEFAULT_INTERVAL.total_seconds() / speed_of(desk.clock)))
        service.scheduler = DeskScheduler(wiring.jobs(desk), key=str(settings.data_dir.resolve()), interval=interval)
        if settings.wecom_callback_configured:
            service.bot = wiring.wecom_bot(desk, client)
        if settings.imap_configured:
            service.imap = ImapPoller(
                settings.imap_host or "",
                settings.imap_port or 993,
                settings.imap_user or "",
                settings.imap_password.get_secret_value() if settings.imap_password else "",
                settings.imap_folder,
                settings.imap_tls,
                settings.data_dir / "spool",
                StoreMailboxState(store),
                service.accept,
            )
        else:
            service.maildir = MaildirSource(
                settings.inbox_dir, service.accept, settle_seconds=DROP_FOLDER_SETTLE_SECONDS
            )
        return service

    def accept(self, path: Path, ref: IncomingRef) -> None:
        """The sources' sink: the desk's, with the arrival in the desk's time (a rehearsal's clock
        reads a mail dropped now as arriving at the rehearsal's instant, not in the real year)."""
        received = arrival_time(self.desk.clock, ref.received_at)
        self.desk.accept(path, ref if received == ref.received_at else ref.model_copy(update={"received_at": received}))

    # -- loops ------------------------------------------------------------------------------
    def _loop(self, name: str, step: Callable[[], int], idle: Callable[[float], object] | None = None) -> None:
        """Run `step` until stopped; when it found nothing to do, wait a poll (or until `idle` is woken)."""
        idle = idle or self.stop.wait
        while not self.stop.is_set():
            try:
                busy = step()
            except Exception:  # one bad step must not stop the desk
                log.exception("%s step failed", name)
                busy = 0
            if not busy:
                idle(self.poll_interval)

    def _housekeeping_step(self) -> int:
        """Rows a worker left half-done without dying (an error between claim and mark) would wait
        for the next restart; once a minute, those stuck far longer than any real work go back."""
        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS:
            self._last_housekeeping = now
            self.desk.failures.record_unwritten()  # first: a failure the database missed is no killed worker
            # Claims are stamped by the desk's clock, so staleness is measured on it too; on a
            # rehearsal's faster clock the same real time is `speed` times as long.
            now, speed = self.desk.clock(), speed_of(self.desk.clock)
            self.store.raw.requeue_stale(STALE_PROCESSING * speed, now=now)
            self.store.outbox.requeue_stale(STALE_SENDING * speed, now=now)
        return 0

    def _maildir_step(self) -> int:
        assert self.maildir is not None
        return self.maildir.poll_once()

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"nomdesk-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def start_pipeline(self) -> None:
        """The pipeline loop alone (the dashboard's tests run it so): what the desk queues (an
        office action, a WeCom file) wakes it at once."""
        step = lambda: self.desk.process_pending(limit=5)  # noqa: E731
        self._thread("pipeline", lambda: self._loop("pipeline", step, self.desk.wait_for_work))

    def start(self) -> None:
        self.desk.recover()
        self.start_pipeline()
        loops: list[tuple[str, Callable[[], None]]] = [
            ("outbox", lambda: self._loop("outbox", self.outbox.run_once)),
            ("housekeeping", lambda: self._loop("housekeeping", self._housekeeping_step)),
        ]
        if self.imap is not None:
            loops.append(("imap", lambda: self.imap.run(self.stop)))  # type: ignore[union-attr]
        else:
            loops.append(("maildir", lambda: self._loop("maildir", self._maildir_step)))
        for name, target in loops:
            self._thread(name, target)
        if self.scheduler is not None:
            self.scheduler.start()
        log.info("desk started: pipeline, %s", ", ".join(name for name, _ in loops))

    def shutdown(self, timeout: float = 10.0) -> None:
        if self.bot is not None:
            self.bot.close()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.stop.set()
        self.desk.wake()  # the pipeline loop waits on the desk, not on `stop`
        for thread in self.threads:
            thread.join(timeout)
        if self.imap is not None:
            self.imap.close()
        self.store.close()
