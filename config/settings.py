"""Service settings from the environment (`NOMDESK_*`): endpoints, secrets and paths.

Every number of the call lives in the campaign TOML, not here; these are the knobs of
one installation (where its data is, which mail server and WeCom app it talks to).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.campaign import DEFAULT_CAMPAIGN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOMDESK_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None  # None: SQLite file in data_dir
    campaign: Path = DEFAULT_CAMPAIGN

    imap_host: str | None = None
    imap_port: int | None = None  # None: 993 with TLS, 143 without
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_tls: bool = True

    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 465 with TLS, 587 with STARTTLS, 25 otherwise
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False  # implicit TLS (SMTPS)
    smtp_starttls: bool = True
    mail_from: str | None = None

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    wecom_webhook_key: SecretStr | None = None
    wecom_max_skew_seconds: int = 300  # callbacks whose timestamp is further off are rejected (replays)

    port: int = 8080
    # The desk's address as units reach it ("https://nomdesk.jyt.jl.gov.cn"): receipts and the bot
    # give each unit contact her page's link under it. None: no link is offered anywhere (a receipt
    # must not carry a localhost link a unit cannot open).
    public_url: str | None = None
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or
    # networks). Empty: none, and the login lock is keyed on the TCP peer itself.
    trusted_proxies: str = ""
    # The authserv-id of the receiving mail server whose Authentication-Results header is believed
    # (RFC 8601); other servers' headers are ignored (anyone can write one) and DKIM is verified here.
    trusted_authserv_id: str | None = None
    # Without that header the desk verifies DKIM and reads DMARC policies in DNS itself
    # (intake.authentication); false: no lookups, so only a trusted header can hold a mail.
    sender_auth_dns: bool = True
    dns_timeout_seconds: float = 3.0  # one lookup's whole budget: a slow DNS must not stall intake
    # The key that encrypts ID and phone numbers at rest; None: DIR/secret.key, made at first start (0600).
    secret_key: SecretStr | None = None
    fetch_private_hosts: bool = False  # the dashboard may fetch units' links from loopback/private hosts (tests)
    # A link fetch holds a dashboard request thread while it runs, so a server trickling a byte
    # every few seconds must not hold it forever: it is stopped after this long in all (4 GiB, the
    # largest cap, needs 2.4 MB/s to make it), and when fewer than fetch_min_bytes_per_second
    # arrive over any fetch_slow_window_seconds (0: no speed floor). The office then downloads it by hand.
    fetch_deadline_seconds: float = 1800.0
    fetch_min_bytes_per_second: int = 1024
    fetch_slow_window_seconds: float = 60.0
    reply_rate_per_hour: int = 5
    # An address that is no unit's contact gets at most this many replies in any 24 hours: anyone
    # can put any address in From, and a desk answering every such mail is a backscatter source.
    # Her further mails are kept (in the 待确认 queue) without an answer.
    unknown_sender_replies_per_day: int = 1
    # Files sent in WeCom come one by one: the check's answer waits this long after the last of
    # them, so eight photos in a row get one answer (and one mail to the unit), not eight.
    wecom_answer_settle_seconds: int = 60
    # A mail whose processing failed is tried again after this long, doubling each time up to the
    # cap (config/faults.py). A transient failure (full disk, permissions, I/O, a locked database)
    # retries for as long as it lasts; after this many hours of it the office is told once.
    retry_backoff_seconds: float = 30.0
    retry_backoff_max_seconds: float = 1800.0
    retry_notice_after_hours: float = 24.0
    # A "transient" error the mail itself causes (an archive entry with mode 000 unpacked in the
    # work folder: EACCES every time) would retry forever: after this many hours of transient
    # failures the mail is quarantined for a person like a deterministic failure.
    retry_give_up_after_hours: float = 72.0
    # A rehearsal's clock (config/clock.py): the desk starts at this instant (ISO date or date-time,
    # campaign-local unless a zone is given) and runs clock_speed times faster. None/1: real time.
    clock_start: str | None = None
    clock_speed: float = 1.0
    # The blob store (storage/s3_blobs.py): with an endpoint and bucket, every desk keeps mails and
    # files in this S3-compatible object store (Ceph RGW, MinIO, OSS, COS, AWS) instead of DIR/store,
    # so desks on several machines sharing one database read each other's blobs. Every desk on one
    # database must name the same store (Store.open refuses another); `nomdesk store migrate` moves
    # a local store's blobs there. s3_prefix is prepended to every key ("nomdesk/" or "").
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    s3_addressing_style: str = "auto"  # "path" for servers without virtual-host buckets, "virtual" for OSS
    s3_cache_max_gb: float = 20.0  # local read-through copies (DIR/cache/blobs), swept oldest first
    # A claimed queue row (a mail being read, a reply being sent, a WeCom file being fetched) is
    # leased to its process for this many seconds of real time and renewed by its heartbeat;
    # another process takes it back only once the lease has run out (storage/leases.py).
    lease_seconds: float = 60.0
    # Several `nomdesk serve` on one database: each singleton (IMAP poller, drop-folder watcher,
    # scheduler) runs in one of them; the others try to take it over this often (seconds).
    standby_seconds: float = 10.0

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """An address units can open: "https://host[/prefix]", no trailing slash; a bare host name
        would make every receipt's link unclickable, so it is refused at start."""
        value = (value or "").strip().rstrip("/")
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("应是单位能打开的完整网址，如 https://nomdesk.example.gov.cn")
        return value

    @model_validator(mode="after")
    def _default_ports(self) -> Settings:
        if self.imap_port is None:
            self.imap_port = 993 if self.imap_tls else 143
        if self.smtp_port is None:
            self.smtp_port = 465 if self.smtp_tls else 587 if self.smtp_starttls else 25
        return self

    @property
    def imap_configured(self) -> bool:
        return bool(self.imap_host and self.imap_user and self.imap_password)

    @property
    def wecom_callback_configured(self) -> bool:
        return bool(self.wecom_token and self.wecom_aes_key and self.wecom_corp_id)

    @property
    def wecom_api_configured(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_secret and self.wecom_agent_id)

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'nomdesk.sqlite3').as_posix()}"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"
