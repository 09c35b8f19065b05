"""The tables (SQLModel). Rows leave storage/ as detached snapshots: change them through `Store`.

Every timestamp is timezone-aware UTC in Python. ID and phone numbers of what units sent
(submissions, dossiers, findings) and contacts' phones are stored encrypted (`storage.pii`: the
sealed columns below); nominees carry keyed hashes for the cross-unit duplicate search. Mail
subjects, addresses and file names are kept as written (`storage.pii` says why).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from storage.pii import SealedJSON, SealedText


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# Named constraints, so later migrations (SQLite batch mode included) can drop and alter them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON)


def _sealed_json(default_factory: Any = dict) -> Any:
    """JSON whose ID and phone numbers are encrypted in the database (`storage.pii`)."""
    return Field(default_factory=default_factory, sa_type=SealedJSON)


class RawState:
    NEW = "new"
    PROCESSING = "processing"
    DONE = "done"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"
    ALL = (NEW, PROCESSING, DONE, QUARANTINED, IGNORED)


class OutboxState:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    ALL = (PENDING, SENDING, SENT, FAILED, SUPPRESSED)


class UnitRecord(SQLModel, table=True):
    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str = "other"
    aliases: list[str] = _json(list)
    position: int = 0  # order in the campaign config, for listings
    from_config: bool = False
    active: bool = True  # False once the unit is no longer in the config


class ContactRecord(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)  # None: office member
    name: str
    wecom_user: str | None = Field(default=None, index=True)
    phone: str | None = Field(default=None, sa_type=SealedText)  # encrypted at rest
    is_office: bool = False
    from_config: bool = False  # seeded from the campaign TOML
    # The TOML's name for a seeded contact: the seed's key, so a contact the office renamed is still
    # the same seed on the next start (never None for a seed).
    seed_name: str | None = None
    role: str = ""  # as the office words it: 联系人, 分管领导, ...
    added_by: str = "config"  # config, office:<user>, cli, import:<file>, ...
    added_at: dt.datetime | None = _ts(default=None)
    # The office changed or removed it: a restart no longer re-seeds it from the TOML.
    office_edited: bool = False
    removed_at: dt.datetime | None = _ts(default=None)  # kept as a tombstone (audit, seeding)


class ContactAddress(SQLModel, table=True):
    __tablename__ = "contact_address"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    address: str = Field(unique=True)  # lower case


class RawMessageRecord(SQLModel, table=True):
    __tablename__ = "raw_message"
    __table_args__ = (
        Index("ix_raw_message_state_received", "state", "received_at"),
        Index("ix_raw_message_state_lease", "state", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True)
    size: int = Field(sa_type=BigInteger)
    store_path: str  # relative to the blob store root
    source: str  # imap, maildir, cli, wecom, office
    source_ref: str | None = None  # imap:INBOX:<uidvalidity>:<uid>, a maildir name, a WeCom media id
    message_id: str | None = Field(default=None, index=True)
    sender: str | None = None
    subject: str | None = None
    received_at: dt.datetime = _ts()  # delivery time in the service: what the deadline is checked against
    state: str = RawState.NEW
    attempts: int = 0
    claimed_at: dt.datetime | None = _ts(default=None)
    # The claim's holder (storage.leases.worker_id) and the end of its lease on real time.
    claimed_by: str | None = None
    lease_until: dt.datetime | None = _ts(default=None)
    last_error: str | None = None
    duplicate_of: int | None = Field(default=None, foreign_key="raw_message.id")
    created_at: dt.datetime = _ts(default_factory=utcnow)
    # A transient error (disk full, a permission, I/O) puts the message back with a backoff: it is
    # claimed again no earlier than this, and only deterministic failures count toward quarantine.
    retry_at: dt.datetime | None = _ts(default=None)
    transient_failures: int = 0


class SubmissionRecord(SQLModel, table=True):
    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("unit_name", "unit_index", name="uq_submission_unit_index"),)

    id: int | None = Field(default=None, primary_key=True)
    raw_message_id: int = Field(foreign_key="raw_message.id", unique=True)
    unit_name: str | None = Field(default=None, index=True)
    unit_confirmed: bool = False
    arrived_at: dt.datetime = _ts()
    unit_index: int | None = None  # 1, 2, ... in arrival order within the unit
    summary: dict[str, Any] = _sealed_json()
    created_at: dt.datetime = _ts(default_factory=utcnow)
    # An unknown sender's mail the office said is not a submission: it leaves the 待确认 queue.
    rejected_at: dt.datetime | None = _ts(default=None)
    rejected_by: str | None = None
    # A mail from a unit's registered address that failed sender authentication: it waits in the
    # 待确认 queue (unit_name None) for the unit it claims to be from, with the reason in Chinese.
    held_unit: str | None = None
    held_reason: str | None = None
    # The office voided (作废) the submission: the dossier is rebuilt without it, the row is kept.
    voided_at: dt.datetime | None = _ts(default=None)
    voided_by: str | None = None
    void_reason: str | None = None


class FileRecord(SQLModel, table=True):
    __tablename__ = "file"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    path: str  # logical path: attachment name, then the path inside archives
    sha256: str = Field(index=True)
    size: int = Field(sa_type=BigInteger)
    sniffed: str = ""
    kind: str = "other"
    probe: dict[str, Any] = _json()


class NomineeRecord(SQLModel, table=True):
    """A unit's current nominees (replaced on each evaluation), for cross-unit duplicate search."""

    __tablename__ = "nominee"

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str = Field(index=True)
    kind: str  # star, project
    name: str
    name_key: str = Field(index=True)  # normalised name (projects: quotes and spaces removed)
    exemplar: bool = False
    id_hash: str | None = Field(default=None, index=True)  # HMAC of the normalised ID number
    person_key: str | None = Field(default=None, index=True)  # HMAC of name + birth month + phone
    fields: dict[str, Any] = _json()  # display fields only, no ID or phone numbers
    version: int = 0  # the evaluation that wrote it


class DossierSnapshot(SQLModel, table=True):
    __tablename__ = "dossier_snapshot"
    __table_args__ = (UniqueConstraint("unit_name", "version", name="uq_dossier_unit_version"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str = Field(index=True)
    version: int
    dossier: dict[str, Any] = _sealed_json()
    # The unit's raw messages this evaluation merged: a receipt lists what came since the last one.
    raw_ids: list[int] | None = Field(default=None, sa_type=JSON)
    created_at: dt.datetime = _ts(default_factory=utcnow)
    # Not None when a rule raised: the dossier is 检查未完成 and this says which rules and why.
    check_error: str | None = None


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_unit_version", "unit_name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str
    version: int  # the evaluation (DossierSnapshot.version) it belongs to
    code: str
    severity: str
    subject: str
    nominee: str | None = None
    item: str | None = None  # the nominee's checklist item it speaks about (intake.models.ITEMS)
    params: dict[str, Any] = _sealed_json()
    evidence: dict[str, Any] = _sealed_json()
    created_at: dt.datetime = _ts(default_factory=utcnow)


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
        Index("ix_outbox_state_lease", "state", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str  # mail, wecom, webhook
    dedupe_key: str = Field(unique=True)  # reply:<raw_message_id>, reminder:<unit>:<slot>, ...
    recipients: list[str] = _json(list)
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    eml_sha256: str | None = None  # the exact message to send, in the blob store
    state: str = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: dt.datetime = _ts(default_factory=utcnow)
    claimed_at: dt.datetime | None = _ts(default=None)
    # The claim's holder (storage.leases.worker_id) and the end of its lease on real time.
    claimed_by: str | None = None
    lease_until: dt.datetime | None = _ts(default=None)
    last_error: str | None = None
    sent_at: dt.datetime | None = _ts(default=None)
    raw_message_id: int | None = Field(default=None, foreign_key="raw_message.id", index=True)
    unit_name: str | None = Field(default=None, index=True)
    # A receipt: the unit's evaluation it describes; the next receipt compares against it.
    evaluation_version: int | None = None
    created_at: dt.datetime = _ts(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    ts: dt.datetime = _ts(default_factory=utcnow, index=True)
    actor: str  # system, intake, office:<user>, bot:<user>, ...
    action: str
    unit_name: str | None = Field(default=None, index=True)
    detail: dict[str, Any] = _json()  # masked before it gets here


class MailboxState(SQLModel, table=True):
    __tablename__ = "mailbox_state"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # imap:host:user:INBOX
    uidvalidity: int | None = Field(default=None, sa_type=BigInteger)  # IMAP numbers are unsigned 32-bit
    last_uid: int = Field(default=0, sa_type=BigInteger)
    updated_at: dt.datetime = _ts(default_factory=utcnow)


class PaperReceipt(SQLModel, table=True):
    __tablename__ = "paper_receipt"

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str = Field(index=True)
    received_on: dt.date
    recorded_by: str
    note: str | None = None
    created_at: dt.datetime = _ts(default_factory=utcnow)


class KeyValue(SQLModel, table=True):
    __tablename__ = "key_value"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    value: str
    expires_at: dt.datetime | None = _ts(default=None)
    updated_at: dt.datetime = _ts(default_factory=utcnow)


class ReminderSent(SQLModel, table=True):
    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("unit_name", "slot", "channel", name="uq_reminder_unit_slot_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str
    slot: str  # e.g. "deadline-3d:2021-08-27"
    channel: str
    created_at: dt.datetime = _ts(default_factory=utcnow)


class OfficeNote(SQLModel, table=True):
    """What the office keeps on a unit or one of its nominees; never sent to the unit."""

    __tablename__ = "office_note"

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str = Field(index=True)
    nominee: str | None = None  # None: about the unit
    text: str
    author: str
    created_at: dt.datetime = _ts(default_factory=utcnow)


class OfficeUser(SQLModel, table=True):
    """A person of the office who may use the dashboard (unit contacts never are)."""

    __tablename__ = "office_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True)  # lower case
    password_hash: str  # storage.passwords format: scrypt$n$r$p$salt$hash
    display_name: str = ""
    active: bool = True
    created_at: dt.datetime = _ts(default_factory=utcnow)
    last_login: dt.datetime | None = _ts(default=None)


class WeComFileState:
    PENDING = "pending"
    WORKING = "working"
    DONE = "done"  # handed to the desk
    EXPIRED = "expired"  # given up: the media_id lapsed (3 days) or WeCom no longer knows it
    ALL = (PENDING, WORKING, DONE, EXPIRED)


class WeComPendingFile(SQLModel, table=True):
    """A file a contact sent to the WeCom app, kept until the desk has it: the contact was told
    "已收到文件" at once, and WeCom keeps the file behind its media_id for 3 days only."""

    __tablename__ = "wecom_pending_file"
    __table_args__ = (
        Index("ix_wecom_pending_file_state_due", "state", "next_attempt_at"),
        Index("ix_wecom_pending_file_state_lease", "state", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    msg_key: str = Field(unique=True)  # the callback's MsgId: WeCom's retries add no second row
    user_id: str
    media_id: str
    filename: str
    received_at: dt.datetime = _ts()
    state: str = WeComFileState.PENDING
    attempts: int = 0
    next_attempt_at: dt.datetime = _ts(default_factory=utcnow)
    claimed_at: dt.datetime | None = _ts(default=None)
    # The claim's holder (storage.leases.worker_id) and the end of its lease on real time.
    claimed_by: str | None = None
    lease_until: dt.datetime | None = _ts(default=None)
    last_error: str | None = None
    done_at: dt.datetime | None = _ts(default=None)


class UnitLinkRecord(SQLModel, table=True):
    """The generation of a unit contact's page link (`storage.unit_links`): a link carries the
    generation it was signed with, so revoking (a bump here) refuses every link given out before."""

    __tablename__ = "unit_link"

    contact_id: int = Field(primary_key=True, foreign_key="contact.id")
    generation: int = 0
    changed_by: str = ""
    changed_at: dt.datetime | None = _ts(default=None)


class TranscodeState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the copy is in the blob store, waiting for the unit's (or the office's) choice
    FAILED = "failed"
    ACCEPTED = "accepted"  # the copy replaced the original in the dossier (the original stays stored)
    KEPT = "kept"  # the unit keeps its own video
    ALL = (QUEUED, RUNNING, DONE, FAILED, ACCEPTED, KEPT)


class TranscodeJob(SQLModel, table=True):
    """A compliant copy of one of a unit's videos (`storage.transcodes`): one per (unit, source file),
    claimed under a lease like the queues of storage/leases.py so two desks never make it twice."""

    __tablename__ = "transcode_job"
    __table_args__ = (
        UniqueConstraint("unit_name", "source_file_id", name="uq_transcode_job_unit_source"),
        Index("ix_transcode_job_state_lease", "state", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_name: str = Field(index=True)
    source_file_id: int = Field(foreign_key="file.id")
    source_path: str  # the source's logical path, as the dossier names it
    nominee: str = ""  # the nominee the video is filed under: the copy's file name starts with it
    state: str = TranscodeState.QUEUED
    progress: float = 0.0  # 0..1 while running
    output_sha256: str | None = None
    output_size: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = None
    attempts: int = 0
    requested_by: str
    decided_by: str | None = None
    replacement_raw_id: int | None = None  # the record the accepted copy was kept as
    created_at: dt.datetime = _ts(default_factory=utcnow)
    started_at: dt.datetime | None = _ts(default=None)
    finished_at: dt.datetime | None = _ts(default=None)
    decided_at: dt.datetime | None = _ts(default=None)
    claimed_by: str | None = None
    lease_until: dt.datetime | None = _ts(default=None)
