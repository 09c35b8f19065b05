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
from collections.abc import Callable
from dataclasses import dataclass, field

from config.campaign import Campaign
from config.settings import Settings
from intake.sources.imap import ImapPoller
from intake.sources.maildir import MaildirSource
from nomdesk.desk import Desk, utcnow
from notify.outbox import OutboxWorker
from notify.smtp import SmtpSender
from storage.repo import Store

log = logging.getLogger(__name__)


class StoreMailboxState:
    """The IMAP poller's progress kept in the database (MailboxStateStore protocol)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> tuple[int, int] | None:
        row = self.store.get_mailbox_state(key)
        if row is None or row.uidvalidity is None:
            return None
        return row.uidvalidity, row.last_uid

    def set(self, key: str, uidvalidity: int, last_uid: int) -> None:
        self.store.set_mailbox_state(key, uidvalidity, last_uid)


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
    imap: ImapPoller | None = None
    maildir: MaildirSource | None = None

    @classmethod
    def build(cls, settings: Settings, campaign: Campaign, *, clock: Callable[[], dt.datetime] = utcnow) -> Service:
        store = Store.open(settings.data_dir, settings.database_url)
        store.sync_units(campaign)
        desk = Desk(settings, campaign, store, clock=clock)
        smtp = None
        if settings.smtp_configured:
            smtp = SmtpSender(
                settings.smtp_host or "",
                settings.smtp_port or 25,
                settings.smtp_user,
                settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                tls=settings.smtp_tls,
                starttls=settings.smtp_starttls,
            )
        outbox = OutboxWorker(store, smtp=smtp, outbox_dir=settings.outbox_dir, clock=clock)
        service = cls(settings, campaign, store, desk, outbox)
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
                desk.accept,
            )
        else:
            service.maildir = MaildirSource(settings.inbox_dir, desk.accept)
        return service

    # -- loops ------------------------------------------------------------------------------
    def _loop(self, name: str, step: Callable[[], int]) -> None:
        while not self.stop.is_set():
            try:
                busy = step()
            except Exception:  # one bad step must not stop the desk
                log.exception("%s step failed", name)
                busy = 0
            if not busy:
                self.stop.wait(self.poll_interval)

    def _maildir_step(self) -> int:
        assert self.maildir is not None
        return self.maildir.poll_once()

    def start(self) -> None:
        self.desk.recover()
        loops: list[tuple[str, Callable[[], None]]] = [
            ("pipeline", lambda: self._loop("pipeline", lambda: self.desk.process_pending(limit=5))),
            ("outbox", lambda: self._loop("outbox", self.outbox.run_once)),
        ]
        if self.imap is not None:
            loops.append(("imap", lambda: self.imap.run(self.stop)))  # type: ignore[union-attr]
        else:
            loops.append(("maildir", lambda: self._loop("maildir", self._maildir_step)))
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"nomdesk-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)
        log.info("desk started: %s", ", ".join(name for name, _ in loops))

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
        if self.imap is not None:
            self.imap.close()
        self.store.close()
