"""The desk's parts built from the settings, in one place for `nomdesk serve` and the CLI.

`serve` runs them all in threads; a CLI command (`ingest`, `digest --send`) builds the same
sender, channels and jobs and runs one step of them. Built twice, they drifted (a channel
the service had and `digest --send` lacked); built here, a new part is added once.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from bot.answers import Answerer
from bot.callback import WeComBot
from bot.crypto import CallbackCrypto
from bot.token_store import StoreTokenStorage
from bot.wecom_client import WebhookRobot, WeComClient
from config.campaign import Campaign
from config.clock import Clock, campaign_clock
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import ChannelSender, OutboxWorker
from notify.smtp import SmtpSender
from schedule.jobs import MARKDOWN_CHANNEL, Jobs
from storage.blob_choice import configured_blob_store
from storage.repo import Store


def open_desk(settings: Settings, campaign: Campaign, *, clock: Clock | None = None) -> Desk:
    """The data directory's store (migrated, units in step with the campaign) and its desk, on
    `clock` or else the one the settings ask for (`desk_clock`)."""
    clock = clock or desk_clock(settings, campaign)  # before the store: a bad start opens nothing
    store = Store.open(
        settings.data_dir,
        settings.database_url,
        secret_key=settings.secret_key,
        campaign_key=campaign.key,
        blobs=configured_blob_store(settings.data_dir, settings),  # NOMDESK_S3_*, else DATA_DIR/store
    )
    store.directory.sync_units(campaign)
    return Desk(settings, campaign, store, clock=clock)


def desk_clock(settings: Settings, campaign: Campaign) -> Clock:
    """The desk's one clock: real time, or a rehearsal's (NOMDESK_CLOCK_START / _SPEED). Every
    part of the desk that decides by time (replies, reminders, digest, bot, dashboard) reads it
    through the desk; ValueError (in Chinese) for a start that is no date."""
    return campaign_clock(settings.clock_start, settings.clock_speed, campaign.tz)


def smtp_sender(settings: Settings) -> SmtpSender | None:
    """The SMTP sender when one is configured; without it replies are written to the outbox folder."""
    if not settings.smtp_configured:
        return None
    return SmtpSender(
        settings.smtp_host or "",
        settings.smtp_port or 25,
        settings.smtp_user,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        tls=settings.smtp_tls,
        starttls=settings.smtp_starttls,
    )


def chat_channels(settings: Settings, store: Store) -> tuple[dict[str, ChannelSender], WeComClient | None]:
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


def outbox_worker(desk: Desk, channels: dict[str, ChannelSender] | None = None) -> OutboxWorker:
    """The worker that sends what the desk queued: SMTP (or the outbox folder), and the chat
    channels given (`chat_channels`; none: chat rows wait for `serve`)."""
    return OutboxWorker(
        desk.store,
        smtp=smtp_sender(desk.settings),
        outbox_dir=desk.settings.outbox_dir,
        clock=desk.clock,
        channels=channels or {},
        lease=desk.lease,
    )


def jobs(desk: Desk) -> Jobs:
    """The clock's jobs (reminders, digest, housekeeping) over the desk's store."""
    settings = desk.settings
    return Jobs(
        desk.store,
        desk.campaign,
        mail_from=settings.mail_from,
        webhook=bool(settings.wecom_webhook_key),
        wecom=settings.wecom_api_configured,
        clock=desk.clock,
        public_url=settings.public_url,
    )


def wecom_bot(desk: Desk, client: WeComClient | None) -> WeComBot:
    """The WeCom application's callback: answers contacts, takes their files and office actions."""
    settings, store, clock = desk.settings, desk.store, desk.clock
    crypto = CallbackCrypto(
        settings.wecom_token.get_secret_value() if settings.wecom_token else "",
        settings.wecom_aes_key.get_secret_value() if settings.wecom_aes_key else "",
        settings.wecom_corp_id or "",
        max_skew_seconds=settings.wecom_max_skew_seconds,
    )

    def paper(unit: str, day: dt.date, actor: str) -> None:
        desk.record_paper(unit, day, actor=actor)

    def send_text(user: str, text: str) -> None:
        key = f"wecom-text:{user}:{hashlib.sha256(text.encode()).hexdigest()[:16]}:{clock().timestamp():.0f}"
        desk.replies.queue(key, channel="wecom", recipients=[user], subject=None, text=text, not_before=clock())

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

    answerer = Answerer(
        store, desk.campaign, clock=clock, on_paper=paper, on_withdraw=withdraw, public_url=settings.public_url
    )
    return WeComBot(store, crypto, answerer, on_file=on_file, send_text=send_text, clock=clock)
