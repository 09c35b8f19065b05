"""`nomdesk serve`: the sources, the pipeline worker and the outbox, side by side.

Each part is a loop in its own thread around one idempotent step, so stopping (or
being killed) at any point and starting again picks up exactly where it was. Several
processes may serve one database: queue rows are claimed under leases a heartbeat
renews (storage/leases.py; only an expired lease is taken back), and the singletons
(the IMAP poller, the drop-folder watcher, the scheduler) run in one process at a time
(nomdesk/singletons.py) while the pipeline, the outbox and the HTTP port run in all.
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
from nomdesk.singletons import Singleton
from nomdesk.transcoding import Transcoding
from notify.outbox import OutboxWorker
from schedule.scheduler import DEFAULT_INTERVAL, DeskScheduler
from storage.leases import LeaseHeartbeat, worker_id
from storage.locks import Held, worker_lock
from storage.repo import Store

log = logging.getLogger(__name__)

# People `cp` mail straight into the drop folder's new/: give a copy this long to finish.
DROP_FOLDER_SETTLE_SECONDS = 2.0
HOUSEKEEPING_EVERY_SECONDS = 60.0
SCHEDULER_LOCK = "scheduler"  # one ticking process per campaign (the lock is scoped by it)


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
    singletons: list[Singleton] = field(default_factory=list)
    heartbeat: LeaseHeartbeat | None = None
    _scheduler_ran: bool = False
    liveness: Held | None = None  # held while this process lives: others see it alive (bot/callback.py)
    transcoding: Transcoding | None = None  # compliant copies of units' videos (nomdesk/transcoding.py)

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
        key = f"{settings.data_dir.resolve()}#{campaign.key or ''}"  # two campaigns' desks in one process
        service.scheduler = DeskScheduler(wiring.jobs(desk), key=key, interval=interval)
        service.heartbeat = LeaseHeartbeat(store.leases, dt.timedelta(seconds=settings.lease_seconds))
        service.transcoding = Transcoding(desk, lease=dt.timedelta(seconds=settings.lease_seconds))
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
        # Watched with IMAP too: both are intake sources (the office may drop a mail it saved).
        service.maildir = MaildirSource(settings.inbox_dir, service.accept, settle_seconds=DROP_FOLDER_SETTLE_SECONDS)
        return service

    def accept(self, path: Path, ref: IncomingRef) -> None:
        """The sources' sink: the desk's, with the arrival in the desk's time (a rehearsal's clock
        reads a mail dropped now as arriving at the rehearsal's instant, not in the real year)."""
        received = arrival_time(self.desk.clock, ref.received_at)
        self.desk.accept(path, ref if received == ref.received_at else ref.model_copy(update={"received_at": received}))

    # -- loops ------------------------------------------------------------------------------
    def _loop(
        self,
        name: str,
        step: Callable[[], int],
        idle: Callable[[float], object] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Run `step` until stopped (the service, or `stop`: a singleton's role); when it found
        nothing to do, wait a poll (or until `idle` is woken)."""
        stop = stop or self.stop
        idle = idle or stop.wait
        while not stop.is_set() and not self.stop.is_set():
            try:
                busy = step()
            except Exception:  # one bad step must not stop the desk
                log.exception("%s step failed", name)
                busy = 0
            if not busy:
                idle(self.poll_interval)

    def _housekeeping_step(self) -> int:
        """Once a minute, claims whose lease ran out go back to their queue: their process died or
        hung (a live one renews its leases, however long its work takes; storage/leases.py)."""
        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS:
            self._last_housekeeping = now
            self.desk.failures.record_unwritten()  # first: a failure the database missed is no killed worker
            self.store.leases.take_back_expired()  # on real time, as the leases are
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

    def start_transcoding(self) -> None:
        """The worker making compliant copies of videos (one thread: ffmpeg uses every core)."""
        if self.transcoding is not None:
            self.transcoding.start()

    # -- singletons ----------------------------------------------------------------------------
    def _singleton(self, name: str, acquire: Callable[[], Held | None], run: Callable[[threading.Event], None]) -> None:
        self.singletons.append(Singleton(name, acquire, run, standby_seconds=self.settings.standby_seconds))

    def _run_scheduler(self, stop: threading.Event) -> None:
        """The APScheduler instance runs while this process holds the scheduler's lock, a fresh one
        each time it is taken (a scheduler once shut down is not restarted). Its job store keeps the
        tick's next run time in the database, so a process taking over ticks when the dead one
        would have (or at once, if that passed: coalesced into one run)."""
        assert self.scheduler is not None
        old = self.scheduler
        if self._scheduler_ran:
            self.scheduler = DeskScheduler(old.jobs, key=old.key, interval=old.interval)
        self._scheduler_ran = True
        scheduler = self.scheduler
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown()

    def _roles(self) -> None:
        """Who may run each singleton: the IMAP mailbox's poller per mailbox, the drop folder's
        watcher per folder (a file lock: the folder is this machine's), the tick per campaign."""
        locks = self.store.locks
        if self.imap is not None:
            imap = self.imap
            mailbox = f"imap:{self.settings.imap_host}:{self.settings.imap_user}:{self.settings.imap_folder}"
            self._singleton("IMAP poller", lambda: locks.try_acquire(mailbox), imap.run)
        if self.maildir is not None:
            folder = f"maildir:{self.settings.inbox_dir.resolve()}"
            self._singleton(
                "drop-folder watcher",
                lambda: locks.local.try_acquire(folder),
                lambda stop: self._loop("maildir", self._maildir_step, stop=stop),
            )
        if self.scheduler is not None:
            self._singleton("scheduler", lambda: locks.try_acquire(SCHEDULER_LOCK), self._run_scheduler)

    def start(self) -> None:
        self.liveness = self.store.locks.try_acquire(worker_lock(worker_id()))
        self.desk.recover()
        if self.heartbeat is not None:
            self.heartbeat.start()
        self.start_pipeline()
        self.start_transcoding()
        loops: list[tuple[str, Callable[[], None]]] = [
            ("outbox", lambda: self._loop("outbox", self.outbox.run_once)),
            ("housekeeping", lambda: self._loop("housekeeping", self._housekeeping_step)),
        ]
        for name, target in loops:
            self._thread(name, target)
        self._roles()
        for singleton in self.singletons:
            singleton.start(self.stop)
        running = [s.name for s in self.singletons if s.holding]
        standing_by = [s.name for s in self.singletons if not s.holding]
        log.info(
            "desk started: pipeline, %s; runs %s; stands by for %s",
            ", ".join(name for name, _ in loops),
            ", ".join(running) or "no singleton",
            ", ".join(standing_by) or "nothing",
        )

    def shutdown(self, timeout: float = 10.0) -> None:
        if self.bot is not None:
            self.bot.close()
        self.stop.set()
        self.desk.wake()  # the pipeline loop waits on the desk, not on `stop`
        if self.transcoding is not None:
            self.transcoding.stop(timeout)
        for singleton in self.singletons:  # each stops its role and lets its lock go
            singleton.join(timeout)
        if self.scheduler is not None:
            self.scheduler.shutdown()
        for thread in self.threads:
            thread.join(timeout)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.liveness is not None:
            self.liveness.release()
        if self.imap is not None:
            self.imap.close()
        self.store.close()
