"""`nomdesk serve`: the sources, the pipeline worker and the outbox, side by side.

Each part is a loop in its own thread around one idempotent step, so stopping (or
being killed) at any point and starting again picks up exactly where it was: raw
messages left "processing" and outbox rows left "sending" are put back in the queue
on start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answers import Answerer
from bot.callback import WeComBot
from bot.crypto import CallbackCrypto
from bot.token_store import StoreTokenStorage
from bot.wecom_client import WebhookRobot, WeComClient
from config.campaign import Campaign
from config.settings import Settings
from intake.sources.imap import ImapPoller
from intake.sources.maildir import MaildirSource
from nomdesk.desk import Desk, utcnow
from notify.outbox import ChannelSender, OutboxWorker
from notify.smtp import SmtpSender
from schedule.jobs import MARKDOWN_CHANNEL, Jobs
from schedule.scheduler import DeskScheduler
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
    _last_housekeeping: float = 0.0
    imap: ImapPoller | None = None
    maildir: MaildirSource | None = None
    bot: WeComBot | None = None
    scheduler: DeskScheduler | None = None

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
        channels, client = _chat_channels(settings, store)
        outbox = OutboxWorker(store, smtp=smtp, outbox_dir=settings.outbox_dir, clock=clock, channels=channels)
        service = cls(settings, campaign, store, desk, outbox)
        webhook = bool(settings.wecom_webhook_key)
        jobs = Jobs(
            store,
            campaign,
            mail_from=settings.mail_from,
            webhook=webhook,
            wecom=settings.wecom_api_configured,
            clock=clock,
        )
        service.scheduler = DeskScheduler(jobs, key=str(settings.data_dir.resolve()))
        if settings.wecom_callback_configured:
            service.bot = _build_bot(settings, campaign, store, desk, client, clock)
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
            service.maildir = MaildirSource(settings.inbox_dir, desk.accept, settle_seconds=DROP_FOLDER_SETTLE_SECONDS)
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

    def _housekeeping_step(self) -> int:
        """Rows a worker left half-done without dying (an error between claim and mark) would wait
        for the next restart; once a minute, those stuck far longer than any real work go back."""
        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS:
            self._last_housekeeping = now
            self.store.requeue_stale(STALE_PROCESSING)
            self.store.requeue_stale_outbox(STALE_SENDING)
        return 0

    def _maildir_step(self) -> int:
        assert self.maildir is not None
        return self.maildir.poll_once()

    def start(self) -> None:
        self.desk.recover()
        loops: list[tuple[str, Callable[[], None]]] = [
            ("pipeline", lambda: self._loop("pipeline", lambda: self.desk.process_pending(limit=5))),
            ("outbox", lambda: self._loop("outbox", self.outbox.run_once)),
            ("housekeeping", lambda: self._loop("housekeeping", self._housekeeping_step)),
        ]
        if self.imap is not None:
            loops.append(("imap", lambda: self.imap.run(self.stop)))  # type: ignore[union-attr]
        else:
            loops.append(("maildir", lambda: self._loop("maildir", self._maildir_step)))
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"nomdesk-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.scheduler is not None:
            self.scheduler.start()
        log.info("desk started: %s", ", ".join(name for name, _ in loops))

    def shutdown(self, timeout: float = 10.0) -> None:
        if self.bot is not None:
            self.bot.close()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
        if self.imap is not None:
            self.imap.close()
        self.store.close()


def _chat_channels(settings: Settings, store: Store) -> tuple[dict[str, ChannelSender], WeComClient | None]:
    """The outbox's chat senders: the WeCom app (to members) and the office group's robot."""
    channels: dict[str, ChannelSender] = {}
    client = None
    if settings.wecom_api_configured:
        client = WeComClient.from_settings(settings, session=StoreTokenStorage(store))
        channels["wecom"] = lambda recipients, text: client.send_text(recipients, text)
        channels[MARKDOWN_CHANNEL] = lambda recipients, text: client.send_markdown(recipients, text)
    if settings.wecom_webhook_key:
        robot = WebhookRobot(settings.wecom_webhook_key.get_secret_value(), settings.wecom_api_base)
        channels["webhook"] = lambda _recipients, text: robot.send_markdown(text)
    return channels, client


def _build_bot(
    settings: Settings,
    campaign: Campaign,
    store: Store,
    desk: Desk,
    client: WeComClient | None,
    clock: Callable[[], dt.datetime],
) -> WeComBot:
    crypto = CallbackCrypto(
        settings.wecom_token.get_secret_value() if settings.wecom_token else "",
        settings.wecom_aes_key.get_secret_value() if settings.wecom_aes_key else "",
        settings.wecom_corp_id or "",
        max_skew_seconds=settings.wecom_max_skew_seconds,
    )

    def paper(unit: str, day: dt.date, actor: str) -> None:
        store.record_paper(unit, day, actor)
        if store.latest_dossier(unit) is not None:
            desk.evaluate(unit)

    def send_text(user: str, text: str) -> None:
        key = f"wecom-text:{user}:{hashlib.sha256(text.encode()).hexdigest()[:16]}:{clock().timestamp():.0f}"
        store.enqueue_outbox(key, channel="wecom", recipients=[user], body_text=text)

    on_file = None
    if client is not None:

        def on_file(user: str, media_id: str, filename: str) -> None:
            name, data = client.download_media(media_id)
            desk.accept_wecom_file(user, media_id, filename or name, data)
            # The pipeline loop reads it within a poll; processing here, a failure after the
            # hand-off would make the file worker fetch and store the file a second time.

    def withdraw(unit: str, name: str, actor: str) -> str:
        # Queued only: the pipeline loop reads it within a poll, well outside WeCom's 5-second window.
        return desk.withdraw(unit, name, actor=actor).label

    answerer = Answerer(store, campaign, clock=clock, on_paper=paper, on_withdraw=withdraw)
    return WeComBot(store, crypto, answerer, on_file=on_file, send_text=send_text, clock=clock)
