"""The repository: every read and write of the service's state goes through `Store`.

Each method is one short transaction, so a `Store` can be shared by threads (the engine
pools connections; sessions are per call). Rows come back detached: read them, and
change state through the methods here. Writes that must happen once (a raw message per
content, a reply per dedupe key, a reminder per slot) rest on unique constraints, so
they hold across processes too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config.campaign import Campaign
from config.jsonable import to_jsonable
from config.masking import mask_text, mask_value
from intake.headers import body_digest, header_fields
from intake.models import Dossier, PackageFile
from storage import keys
from storage.blobs import BlobStore
from storage.db import READ_ONLY_OPTION, database_url, is_sqlite, make_engine
from storage.migrate import upgrade_to_head
from storage.models import ContactView, NewFile, NomineeIn, UnitOverview
from storage.passwords import dummy_hash, hash_password, verify_password
from storage.tables import (
    AuditLog,
    ContactAddress,
    ContactRecord,
    DossierSnapshot,
    FileRecord,
    FindingRecord,
    KeyValue,
    MailboxState,
    NomineeRecord,
    OfficeUser,
    OutboxRecord,
    OutboxState,
    PaperReceipt,
    RawMessageRecord,
    RawState,
    ReminderSent,
    SubmissionRecord,
    UnitRecord,
    WeComFileState,
    WeComPendingFile,
    utcnow,
)
from validators.base import Finding, Severity

log = logging.getLogger(__name__)

T = TypeVar("T")
UNIQUE_RETRIES = 5


class Store:
    def __init__(self, data_dir: Path, engine: Engine, id_key: bytes) -> None:
        self.data_dir = Path(data_dir)
        self.engine = engine
        self.blobs = BlobStore(self.data_dir / "store")
        self._id_key = id_key
        self._local_lock: Any = threading.RLock() if is_sqlite(engine) else contextlib.nullcontext()
        self._read_engine = engine.execution_options(**{READ_ONLY_OPTION: True})
        self._overview: tuple[tuple[Any, ...], list[UnitOverview]] | None = None  # see unit_overview

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path, url: str | None = None, *, id_key: bytes | None = None) -> Store:
        """Create the data dir layout, connect (DIR/nomdesk.sqlite3 unless a URL is given) and migrate."""
        data_dir = Path(data_dir)
        for sub in ("store", "inbox/new", "inbox/cur", "inbox/tmp", "outbox"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        engine = make_engine(database_url(data_dir, url))
        upgrade_to_head(engine)
        store = cls(data_dir, engine, id_key or keys.load_or_create_key(data_dir))
        store.blobs.sweep_tmp()
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        # SQLite takes its write lock at BEGIN; threads of this process queue on a Python
        # lock instead of SQLite's busy handler, whose sleeps (up to 100 ms) made the tail
        # latency of concurrent bot answers. Other processes still queue on the busy timeout.
        with self._local_lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def _read_session(self) -> Iterator[Session]:
        """For the hot read paths (bot answers, the dashboard): no process lock, no write lock, so
        concurrent questions do not queue behind each other or behind the pipeline's writes."""
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session  # closing ends the read transaction; loaded rows keep their values

    def _retry_unique(self, attempt: Any) -> Any:
        """Run `attempt()` (one transaction) again when a concurrent writer won a unique race."""
        for n in range(UNIQUE_RETRIES):
            try:
                return attempt()
            except IntegrityError:
                if n == UNIQUE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _insert(self) -> Any:
        return sqlite_insert if self.engine.dialect.name == "sqlite" else pg_insert

    @staticmethod
    def _audit_row(session: Session, actor: str, action: str, unit_name: str | None, detail: dict) -> None:
        session.add(AuditLog(actor=actor, action=action, unit_name=unit_name, detail=mask_value(detail)))

    # ---- units and contacts -------------------------------------------------------------

    def sync_units(self, campaign: Campaign) -> None:
        """Load units and contacts from the config. The config wins for what it defines; contacts
        added through `add_contact` are kept; units gone from the config are marked inactive."""
        self._overview = None
        with self._session() as s:
            existing = {u.name: u for u in s.exec(select(UnitRecord)).all()}
            config_names = set()
            for position, unit in enumerate(campaign.units):
                config_names.add(unit.name)
                row = existing.get(unit.name) or UnitRecord(name=unit.name)
                row.kind = str(unit.kind)
                row.aliases = list(unit.aliases)
                row.position = position
                row.from_config = True
                row.active = True
                s.add(row)
            for name, row in existing.items():
                if row.from_config and name not in config_names:
                    row.active = False
                    s.add(row)
            s.flush()
            unit_ids = {u.name: u.id for u in s.exec(select(UnitRecord)).all()}

            old = s.exec(select(ContactRecord.id).where(ContactRecord.from_config)).all()
            if old:
                s.exec(delete(ContactAddress).where(ContactAddress.contact_id.in_(old)))
                s.exec(delete(ContactRecord).where(ContactRecord.id.in_(old)))
                s.flush()
            people = [(unit_ids[u.name], c, False) for u in campaign.units for c in u.contacts]
            people += [(None, c, True) for c in campaign.office.members]
            for unit_id, contact, is_office in people:
                row = ContactRecord(
                    unit_id=unit_id,
                    name=contact.name,
                    wecom_user=contact.wecom_user,
                    phone=contact.phone,
                    is_office=is_office,
                    from_config=True,
                )
                s.add(row)
                s.flush()
                for address in {e.strip().lower() for e in contact.emails if e.strip()}:
                    # The config wins over an address someone added by hand.
                    s.exec(delete(ContactAddress).where(ContactAddress.address == address))
                    s.add(ContactAddress(contact_id=row.id, address=address))
                s.flush()
            self._audit_row(s, "system", "units.synced", None, {"units": len(campaign.units)})

    def units(self, *, active_only: bool = True) -> list[UnitRecord]:
        with self._session() as s:
            query = select(UnitRecord).order_by(UnitRecord.position, UnitRecord.name)
            if active_only:
                query = query.where(UnitRecord.active)
            return list(s.exec(query).all())

    def add_contact(
        self,
        unit_name: str | None,
        name: str,
        *,
        emails: Iterable[str] = (),
        wecom_user: str | None = None,
        phone: str | None = None,
        is_office: bool = False,
        actor: str = "office",
    ) -> ContactView:
        """A contact added by the office (kept across config syncs); an address moves to it."""
        with self._session() as s:
            unit_id = None
            if unit_name is not None:
                unit = s.exec(select(UnitRecord).where(UnitRecord.name == unit_name)).first()
                if unit is None:
                    raise KeyError(f"unknown unit: {unit_name}")
                unit_id = unit.id
            row = ContactRecord(unit_id=unit_id, name=name, wecom_user=wecom_user, phone=phone, is_office=is_office)
            s.add(row)
            s.flush()
            addresses = sorted({e.strip().lower() for e in emails if e.strip()})
            for address in addresses:
                s.exec(delete(ContactAddress).where(ContactAddress.address == address))
                s.add(ContactAddress(contact_id=row.id, address=address))
            self._audit_row(s, actor, "contact.added", unit_name, {"name": name, "emails": addresses})
            return self._contact_view(row, unit_name, addresses)

    @staticmethod
    def _contact_view(row: ContactRecord, unit_name: str | None, emails: list[str]) -> ContactView:
        return ContactView(
            id=row.id or 0,
            unit_name=unit_name,
            name=row.name,
            emails=emails,
            wecom_user=row.wecom_user,
            phone=row.phone,
            is_office=row.is_office,
            from_config=row.from_config,
        )

    def contacts(self, unit_name: str | None = None) -> list[ContactView]:
        with self._read_session() as s:
            query = select(ContactRecord, UnitRecord.name).outerjoin(UnitRecord, UnitRecord.id == ContactRecord.unit_id)
            if unit_name is not None:
                query = query.where(UnitRecord.name == unit_name)
            rows = s.exec(query.order_by(ContactRecord.id)).all()
            addresses: dict[int, list[str]] = {}
            for a in s.exec(select(ContactAddress).order_by(ContactAddress.address)).all():
                addresses.setdefault(a.contact_id, []).append(a.address)
            return [self._contact_view(c, u, addresses.get(c.id or 0, [])) for c, u in rows]

    def unit_of_address(self, address: str) -> str | None:
        """The unit of a registered sender address (case-insensitive); None for unknown or office."""
        _, addr = parseaddr(address)
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .join(ContactAddress, ContactAddress.contact_id == ContactRecord.id)
                .where(ContactAddress.address == (addr or address).strip().lower())
            ).first()

    def unit_of_wecom_user(self, user_id: str) -> str | None:
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .where(ContactRecord.wecom_user == user_id)
            ).first()

    def is_office(self, *, address: str | None = None, wecom_user: str | None = None) -> bool:
        with self._read_session() as s:
            query = select(ContactRecord.id).where(ContactRecord.is_office)
            if address is not None:
                _, addr = parseaddr(address)
                query = query.join(ContactAddress, ContactAddress.contact_id == ContactRecord.id).where(
                    ContactAddress.address == (addr or address).strip().lower()
                )
            elif wecom_user is not None:
                query = query.where(ContactRecord.wecom_user == wecom_user)
            else:
                return False
            return s.exec(query).first() is not None

    # ---- raw messages ---------------------------------------------------------------

    def put_raw(
        self,
        data: bytes | Path,
        *,
        source: str,
        source_ref: str | None = None,
        received_at: dt.datetime | None = None,
        message_id: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        dedupe_message_id: bool = False,
    ) -> tuple[RawMessageRecord, bool]:
        """Store a message's exact bytes, then its row. Returns (row, created).

        The same bytes twice give the first row back (created False). With
        `dedupe_message_id`, a copy with other headers but the same Message-ID and the same
        body (an IMAP rescan after a UIDVALIDITY change, a copy with one more Received line)
        is kept too, as an "ignored" row pointing at the first one, and the first row is
        returned. Another body under a known Message-ID is a mail of its own: a mailer that
        reuses IDs must not make a unit's supplement vanish. Message-ID, sender and subject
        are read from the headers unless given. Delete the source only after this returns.
        """
        blob = self.blobs.put_bytes(data) if isinstance(data, bytes) else self.blobs.put_file(Path(data))
        if message_id is None or sender is None or subject is None:
            head = header_fields(self.blobs.path_of(blob.sha256))
            message_id = message_id if message_id is not None else head.get("message_id")
            sender = sender if sender is not None else head.get("sender")
            subject = subject if subject is not None else head.get("subject")
        received_at = received_at or utcnow()

        def attempt() -> tuple[RawMessageRecord, bool]:
            with self._session() as s:
                same = s.exec(select(RawMessageRecord).where(RawMessageRecord.sha256 == blob.sha256)).first()
                if same is not None:
                    return same, False
                original = None
                if dedupe_message_id and message_id:
                    candidates = s.exec(
                        select(RawMessageRecord)
                        .where(RawMessageRecord.message_id == message_id, RawMessageRecord.duplicate_of.is_(None))
                        .order_by(RawMessageRecord.id)
                    ).all()
                    body = body_digest(self.blobs.path_of(blob.sha256))
                    original = next((c for c in candidates if body_digest(self.raw_path(c)) == body), None)
                row = RawMessageRecord(
                    sha256=blob.sha256,
                    size=blob.size,
                    store_path=blob.relpath,
                    source=source,
                    source_ref=source_ref,
                    message_id=message_id,
                    sender=sender,
                    subject=subject,
                    received_at=received_at,
                    state=RawState.IGNORED if original else RawState.NEW,
                    duplicate_of=original.id if original else None,
                    last_error=f"same Message-ID as raw message {original.id}" if original else None,
                )
                s.add(row)
                s.flush()
                detail = {"raw_id": row.id, "source": source, "size": blob.size, "sha256": blob.sha256}
                if original:
                    detail["duplicate_of"] = original.id
                self._audit_row(s, "intake", "raw.duplicate" if original else "raw.stored", None, detail)
                return (original, False) if original else (row, True)

        return self._retry_unique(attempt)

    def raw_path(self, record: RawMessageRecord) -> Path:
        return self.blobs.root / record.store_path

    def get_raw(self, raw_id: int) -> RawMessageRecord | None:
        with self._session() as s:
            return s.get(RawMessageRecord, raw_id)

    def raw_by_message_id(self, message_id: str) -> list[RawMessageRecord]:
        with self._session() as s:
            query = select(RawMessageRecord).where(RawMessageRecord.message_id == message_id)
            return list(s.exec(query.order_by(RawMessageRecord.id)).all())

    def raw_messages(self, state: str | None = None, limit: int = 1000) -> list[RawMessageRecord]:
        with self._session() as s:
            query = select(RawMessageRecord).order_by(RawMessageRecord.received_at, RawMessageRecord.id)
            if state:
                query = query.where(RawMessageRecord.state == state)
            return list(s.exec(query.limit(limit)).all())

    def claim_next_raw(self, now: dt.datetime | None = None) -> RawMessageRecord | None:
        """The oldest new message, now "processing" and counted as an attempt; no row is given twice."""
        now = now or utcnow()
        with self._session() as s:
            row = s.exec(
                select(RawMessageRecord)
                .where(RawMessageRecord.state == RawState.NEW)
                .order_by(RawMessageRecord.received_at, RawMessageRecord.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.state = RawState.PROCESSING
            row.attempts += 1
            row.claimed_at = now
            s.add(row)
            return row

    def requeue_stale(self, older_than: dt.timedelta, *, max_attempts: int = 5, now: dt.datetime | None = None) -> int:
        """Give messages left "processing" by a crashed worker back to the queue (or to quarantine
        after `max_attempts`, so a message that kills the worker cannot loop forever)."""
        now = now or utcnow()
        cutoff = now - older_than
        with self._session() as s:
            rows = s.exec(
                select(RawMessageRecord).where(
                    RawMessageRecord.state == RawState.PROCESSING,
                    or_(RawMessageRecord.claimed_at.is_(None), RawMessageRecord.claimed_at < cutoff),
                )
            ).all()
            for row in rows:
                if row.attempts >= max_attempts:
                    row.state = RawState.QUARANTINED
                    row.last_error = f"processing interrupted {row.attempts} times"
                    self._audit_row(s, "system", "raw.quarantined", None, {"raw_id": row.id, "error": row.last_error})
                else:
                    row.state = RawState.NEW
                row.claimed_at = None
                s.add(row)
            return len(rows)

    def mark_raw(self, raw_id: int, state: str, error: str | None = None) -> RawMessageRecord:
        if state not in RawState.ALL:
            raise ValueError(f"unknown raw message state: {state}")
        with self._session() as s:
            row = s.get(RawMessageRecord, raw_id)
            if row is None:
                raise KeyError(f"no raw message {raw_id}")
            row.state = state
            row.last_error = mask_text(error) if error else None
            if state != RawState.PROCESSING:
                row.claimed_at = None
            s.add(row)
            return row

    def release_raw(self, raw_id: int, error: str, *, max_attempts: int = 5) -> RawMessageRecord:
        """Processing failed: retry later, or quarantine once attempts are used up."""
        row = self.get_raw(raw_id)
        if row is None:
            raise KeyError(f"no raw message {raw_id}")
        if row.attempts >= max_attempts:
            return self.quarantine(raw_id, error)
        return self.mark_raw(raw_id, RawState.NEW, error)

    def quarantine(self, raw_id: int, error: str) -> RawMessageRecord:
        row = self.mark_raw(raw_id, RawState.QUARANTINED, error)
        self.audit("system", "raw.quarantined", raw_id=raw_id, error=error)
        return row

    # ---- submissions and files -------------------------------------------------------

    def store_file(self, package_file: PackageFile) -> NewFile:
        """Keep a submission's file in the blob store; the result goes to `add_submission`."""
        blob = self.blobs.put_file(package_file.local)
        probe: dict[str, Any] = {}
        if package_file.photo:
            probe["photo"] = package_file.photo.model_dump(mode="json")
        if package_file.video:
            probe["video"] = package_file.video.model_dump(mode="json")
        return NewFile(
            path=package_file.path,
            sha256=blob.sha256,
            size=blob.size,
            sniffed=package_file.sniffed,
            kind=str(package_file.kind),
            probe=probe,
        )

    def file_path(self, record: FileRecord | NewFile) -> Path:
        return self.blobs.path_of(record.sha256)

    def add_submission(
        self,
        raw_message_id: int,
        *,
        unit_name: str | None,
        arrived_at: dt.datetime,
        unit_confirmed: bool = False,
        summary: dict[str, Any] | None = None,
        files: Iterable[NewFile] = (),
    ) -> tuple[SubmissionRecord, bool]:
        """The submission a raw message made, with its files; idempotent per raw message."""
        files = list(files)

        def attempt() -> tuple[SubmissionRecord, bool]:
            with self._session() as s:
                existing = s.exec(
                    select(SubmissionRecord).where(SubmissionRecord.raw_message_id == raw_message_id)
                ).first()
                if existing is not None:
                    return existing, False
                row = SubmissionRecord(
                    raw_message_id=raw_message_id,
                    unit_name=unit_name,
                    unit_confirmed=unit_confirmed,
                    arrived_at=arrived_at,
                    unit_index=self._next_index(s, unit_name),
                    summary=summary or {},
                )
                s.add(row)
                s.flush()
                for f in files:
                    s.add(FileRecord(submission_id=row.id, **f.model_dump()))
                self._audit_row(
                    s,
                    "intake",
                    "submission.added",
                    unit_name,
                    {"submission_id": row.id, "raw_id": raw_message_id, "files": len(files)},
                )
                return row, True

        return self._retry_unique(attempt)

    @staticmethod
    def _next_index(s: Session, unit_name: str | None) -> int | None:
        if unit_name is None:
            return None
        top = s.exec(select(func.max(SubmissionRecord.unit_index)).where(SubmissionRecord.unit_name == unit_name)).one()
        return (top or 0) + 1

    def assign_submission_unit(
        self, submission_id: int, unit_name: str, *, confirmed: bool = True, actor: str = "office"
    ) -> SubmissionRecord:
        """The office says which unit a submission belongs to (an unknown sender's mail)."""

        def attempt() -> SubmissionRecord:
            with self._session() as s:
                row = s.get(SubmissionRecord, submission_id)
                if row is None:
                    raise KeyError(f"no submission {submission_id}")
                before = row.unit_name
                if before != unit_name:
                    row.unit_index = self._next_index(s, unit_name)
                row.unit_name = unit_name
                row.unit_confirmed = confirmed
                s.add(row)
                self._audit_row(
                    s, actor, "submission.unit_assigned", unit_name, {"submission_id": submission_id, "was": before}
                )
                return row

        return self._retry_unique(attempt)

    def get_submission(self, submission_id: int) -> SubmissionRecord | None:
        with self._session() as s:
            return s.get(SubmissionRecord, submission_id)

    def submission_for_raw(self, raw_message_id: int) -> SubmissionRecord | None:
        with self._session() as s:
            return s.exec(select(SubmissionRecord).where(SubmissionRecord.raw_message_id == raw_message_id)).first()

    def unit_submissions(self, unit_name: str) -> list[SubmissionRecord]:
        """A unit's submissions in arrival order (what the dossier merge replays)."""
        with self._session() as s:
            query = (
                select(SubmissionRecord)
                .where(SubmissionRecord.unit_name == unit_name)
                .order_by(SubmissionRecord.arrived_at, SubmissionRecord.id)
            )
            return list(s.exec(query).all())

    def unassigned_submissions(self) -> list[SubmissionRecord]:
        with self._session() as s:
            query = select(SubmissionRecord).where(SubmissionRecord.unit_name.is_(None))
            return list(s.exec(query.order_by(SubmissionRecord.arrived_at)).all())

    def files_of_submissions(self, submission_ids: list[int]) -> dict[int, list[FileRecord]]:
        """The stored files of several submissions at once, by submission id."""
        found: dict[int, list[FileRecord]] = {i: [] for i in submission_ids}
        if not submission_ids:
            return found
        with self._session() as s:
            query = select(FileRecord).where(FileRecord.submission_id.in_(submission_ids)).order_by(FileRecord.id)
            for record in s.exec(query).all():
                found[record.submission_id].append(record)
        return found

    def submission_files(self, submission_id: int) -> list[FileRecord]:
        with self._session() as s:
            query = select(FileRecord).where(FileRecord.submission_id == submission_id).order_by(FileRecord.id)
            return list(s.exec(query).all())

    # ---- evaluations: dossier snapshots, findings, nominees ----------------------------

    def id_hash(self, id_number: str | None) -> str | None:
        return keys.id_hash(self._id_key, id_number)

    def person_key(self, name: str | None, birth_month: str | None, phone: str | None) -> str | None:
        return keys.person_key(self._id_key, name, birth_month, phone)

    def save_evaluation(
        self,
        unit_name: str,
        dossier: Dossier | dict[str, Any],
        findings: Iterable[Finding],
        nominees: Iterable[NomineeIn] | None = None,
        *,
        raw_ids: Iterable[int] | None = None,
    ) -> int:
        """Keep one evaluation of a unit (dossier, findings, nominees); returns its version.
        `raw_ids`: the unit's raw messages it merged (what a receipt compares against).

        Nominees default to those of the dossier. A unit's nominees are replaced by the
        latest evaluation's; a withdrawal the office recorded is carried over by name.
        """
        if isinstance(dossier, Dossier):
            dossier_json = dossier.model_dump(mode="json")
            nominee_list = list(nominees) if nominees is not None else nominees_from_dossier(dossier)
        else:
            dossier_json = dossier
            nominee_list = list(nominees or [])
        findings = list(findings)
        raw_id_list = sorted(set(raw_ids)) if raw_ids is not None else None

        def attempt() -> int:
            with self._session() as s:
                top = s.exec(
                    select(func.max(DossierSnapshot.version)).where(DossierSnapshot.unit_name == unit_name)
                ).one()
                version = (top or 0) + 1
                s.add(DossierSnapshot(unit_name=unit_name, version=version, dossier=dossier_json, raw_ids=raw_id_list))
                s.flush()  # claims the version: a concurrent evaluation retries with the next one
                for f in findings:
                    s.add(
                        FindingRecord(
                            unit_name=unit_name,
                            version=version,
                            code=f.code,
                            severity=str(f.severity),
                            subject=f.subject,
                            nominee=f.nominee,
                            item=f.item,
                            params=to_jsonable(f.params),
                            evidence=to_jsonable(f.evidence),
                        )
                    )
                old = s.exec(select(NomineeRecord).where(NomineeRecord.unit_name == unit_name)).all()
                withdrawn = {(n.kind, n.name_key) for n in old if n.withdrawn}
                s.exec(delete(NomineeRecord).where(NomineeRecord.unit_name == unit_name))
                for n in nominee_list:
                    name_key = keys.normalise_name(n.name)
                    s.add(
                        NomineeRecord(
                            unit_name=unit_name,
                            kind=n.kind,
                            name=n.name,
                            name_key=name_key,
                            exemplar=n.exemplar,
                            id_hash=self.id_hash(n.id_number),
                            person_key=self.person_key(n.name, n.birth_month, n.phone),
                            fields=mask_value(n.fields),
                            withdrawn=(n.kind, name_key) in withdrawn,
                            version=version,
                        )
                    )
                counts = {str(sev): sum(1 for f in findings if f.severity == sev) for sev in Severity}
                self._audit_row(s, "validators", "unit.evaluated", unit_name, {"version": version, **counts})
                return version

        return self._retry_unique(attempt)

    def current_version(self, unit_name: str) -> int | None:
        with self._read_session() as s:
            return s.exec(select(func.max(DossierSnapshot.version)).where(DossierSnapshot.unit_name == unit_name)).one()

    def current_findings(self, unit_name: str) -> list[Finding]:
        """The findings of the unit's latest evaluation, in the order they were found."""
        with self._read_session() as s:
            latest = (
                select(func.max(DossierSnapshot.version))
                .where(DossierSnapshot.unit_name == unit_name)
                .scalar_subquery()
            )
            return self._findings(s, unit_name, latest)

    def findings_of(self, unit_name: str, version: int) -> list[Finding]:
        """The findings of one evaluation of the unit (the one a reply described, say)."""
        with self._read_session() as s:
            return self._findings(s, unit_name, version)

    @staticmethod
    def _findings(s: Session, unit_name: str, version: Any) -> list[Finding]:
        rows = s.exec(
            select(FindingRecord)
            .where(FindingRecord.unit_name == unit_name, FindingRecord.version == version)
            .order_by(FindingRecord.id)
        ).all()
        return [
            Finding(
                code=r.code,
                severity=Severity(r.severity),
                subject=r.subject,
                nominee=r.nominee,
                item=r.item,
                params=r.params,
                evidence=r.evidence,
            )
            for r in rows
        ]

    def latest_dossier(self, unit_name: str) -> DossierSnapshot | None:
        with self._read_session() as s:
            return s.exec(
                select(DossierSnapshot)
                .where(DossierSnapshot.unit_name == unit_name)
                .order_by(DossierSnapshot.version.desc())
                .limit(1)
            ).first()

    def dossier_version(self, unit_name: str, version: int) -> DossierSnapshot | None:
        with self._read_session() as s:
            return s.exec(
                select(DossierSnapshot).where(
                    DossierSnapshot.unit_name == unit_name, DossierSnapshot.version == version
                )
            ).first()

    def unit_nominees(self, unit_name: str, *, include_withdrawn: bool = False) -> list[NomineeRecord]:
        with self._read_session() as s:
            query = select(NomineeRecord).where(NomineeRecord.unit_name == unit_name)
            if not include_withdrawn:
                query = query.where(NomineeRecord.withdrawn == False)  # noqa: E712
            return list(s.exec(query.order_by(NomineeRecord.id)).all())

    def set_nominee_withdrawn(
        self, unit_name: str, kind: str, name: str, withdrawn: bool = True, *, actor: str = "office"
    ) -> bool:
        with self._session() as s:
            result = s.exec(
                update(NomineeRecord)
                .where(
                    NomineeRecord.unit_name == unit_name,
                    NomineeRecord.kind == kind,
                    NomineeRecord.name_key == keys.normalise_name(name),
                )
                .values(withdrawn=withdrawn)
            )
            self._audit_row(
                s, actor, "nominee.withdrawn" if withdrawn else "nominee.restored", unit_name, {"name": name}
            )
            return result.rowcount > 0

    def find_nominee_elsewhere(
        self,
        unit_name: str,
        *,
        kind: str | None = None,
        id_hash: str | None = None,
        person_key: str | None = None,
        name: str | None = None,
    ) -> list[NomineeRecord]:
        """Nominees of other units (not withdrawn) with the same ID hash, person key or name."""
        conditions = []
        if id_hash:
            conditions.append(NomineeRecord.id_hash == id_hash)
        if person_key:
            conditions.append(NomineeRecord.person_key == person_key)
        if name:
            conditions.append(NomineeRecord.name_key == keys.normalise_name(name))
        if not conditions:
            return []
        with self._session() as s:
            query = select(NomineeRecord).where(
                NomineeRecord.unit_name != unit_name,
                NomineeRecord.withdrawn == False,  # noqa: E712
                or_(*conditions),
            )
            if kind:
                query = query.where(NomineeRecord.kind == kind)
            return list(s.exec(query.order_by(NomineeRecord.unit_name, NomineeRecord.id)).all())

    def cross_unit_duplicates(self, unit_name: str, dossier: Dossier) -> dict[str, list[str]]:
        """For `Dossier.other_unit_nominees`: nominee name -> the other units that nominate the same
        person (ID number, else name + birth month + phone) or the same project (by name)."""
        found: dict[str, list[str]] = {}
        for n in nominees_from_dossier(dossier):
            if n.kind == "star":
                h = self.id_hash(n.id_number)
                others = self.find_nominee_elsewhere(
                    unit_name,
                    kind="star",
                    id_hash=h,
                    person_key=None if h else self.person_key(n.name, n.birth_month, n.phone),
                )
            else:
                others = self.find_nominee_elsewhere(unit_name, kind="project", name=n.name)
            units = sorted({o.unit_name for o in others})
            if units:
                found[n.name] = units
        return found

    # ---- outbox ----------------------------------------------------------------------

    def enqueue_outbox(
        self,
        dedupe_key: str,
        *,
        channel: str,
        recipients: Iterable[str],
        subject: str = "",
        body_text: str = "",
        body_html: str | None = None,
        eml: bytes | None = None,
        raw_message_id: int | None = None,
        unit_name: str | None = None,
        not_before: dt.datetime | None = None,
        evaluation_version: int | None = None,
    ) -> tuple[OutboxRecord, bool]:
        """Queue a message once per dedupe key (reply:<raw_id>, ...): a second call returns the first.
        `evaluation_version`: for a receipt, the unit's evaluation it describes."""
        eml_sha = self.blobs.put_bytes(eml).sha256 if eml is not None else None
        recipients = list(recipients)

        def attempt() -> tuple[OutboxRecord, bool]:
            with self._session() as s:
                existing = s.exec(select(OutboxRecord).where(OutboxRecord.dedupe_key == dedupe_key)).first()
                if existing is not None:
                    return existing, False
                row = OutboxRecord(
                    channel=channel,
                    dedupe_key=dedupe_key,
                    recipients=recipients,
                    subject=subject,
                    body_text=body_text,
                    body_html=body_html,
                    eml_sha256=eml_sha,
                    raw_message_id=raw_message_id,
                    unit_name=unit_name,
                    next_attempt_at=not_before or utcnow(),
                    evaluation_version=evaluation_version,
                )
                s.add(row)
                s.flush()
                self._audit_row(
                    s,
                    "notify",
                    "outbox.enqueued",
                    unit_name,
                    {"outbox_id": row.id, "channel": channel, "dedupe_key": dedupe_key, "recipients": recipients},
                )
                return row, True

        return self._retry_unique(attempt)

    def reply_times(
        self,
        recipient: str,
        since: dt.datetime,
        *,
        channel: str = "mail",
        superseded_for: str | None = None,
        now: dt.datetime | None = None,
    ) -> list[dt.datetime]:
        """When each message to `recipient` went or is due to go (sent, or scheduled) from `since`
        on, sorted: the per-sender reply rate limit counts these. Suppressed messages never went,
        nor will the replies about unit `superseded_for` still held back at `now`: the reply being
        measured supersedes them (`supersede_pending_replies`)."""
        recipient = recipient.lower()
        with self._session() as s:
            rows = s.exec(
                select(OutboxRecord).where(
                    OutboxRecord.channel == channel,
                    OutboxRecord.state != OutboxState.SUPPRESSED,
                    or_(OutboxRecord.sent_at >= since, OutboxRecord.next_attempt_at >= since),
                )
            ).all()
            now = now or since + dt.timedelta(hours=1)

            def superseded(r: OutboxRecord) -> bool:
                return (
                    superseded_for is not None
                    and r.unit_name == superseded_for
                    and r.state == OutboxState.PENDING
                    and r.dedupe_key.startswith("reply")
                    and _aware(r.next_attempt_at) > now
                )

            times = [
                _aware(r.sent_at or r.next_attempt_at)
                for r in rows
                if recipient in (a.lower() for a in r.recipients) and not superseded(r)
            ]
            return sorted(t for t in times if t >= since)

    def supersede_pending_replies(
        self,
        unit_name: str,
        recipient: str,
        *,
        keep_id: int,
        waiting_after: dt.datetime,
        channel: str = "mail",
        key_prefix: str = "reply",
    ) -> int:
        """A newer reply describes the whole dossier: older replies to the same person about the same
        unit still held back (due only after `waiting_after`) need not go. Returns how many."""
        recipient = recipient.lower()
        with self._session() as s:
            rows = s.exec(
                select(OutboxRecord).where(
                    OutboxRecord.channel == channel,
                    OutboxRecord.state == OutboxState.PENDING,
                    OutboxRecord.unit_name == unit_name,
                    OutboxRecord.id != keep_id,
                    OutboxRecord.next_attempt_at > waiting_after,
                    OutboxRecord.dedupe_key.startswith(key_prefix),  # type: ignore[union-attr]
                )
            ).all()
            superseded = [r for r in rows if recipient in (a.lower() for a in r.recipients)]
            for row in superseded:
                row.state = OutboxState.SUPPRESSED
                row.last_error = f"superseded by outbox {keep_id}"
                s.add(row)
                self._audit_row(
                    s, "notify", "outbox.superseded", unit_name, {"outbox_id": row.id, "by_outbox_id": keep_id}
                )
            return len(superseded)

    def last_receipt(self, unit_name: str, *, now: dt.datetime, kinds: dict[str, str]) -> OutboxRecord | None:
        """The unit's last reply that went or will go: sent, being sent, or due by `now`. One still
        held back (due later) is not: the next reply supersedes it and covers what it would have.
        `kinds`: channel -> the dedupe key prefix of its replies ({"mail": "reply"})."""
        of_kind = [
            (OutboxRecord.channel == channel) & OutboxRecord.dedupe_key.startswith(prefix)  # type: ignore[union-attr]
            for channel, prefix in kinds.items()
        ]
        with self._read_session() as s:
            return s.exec(
                select(OutboxRecord)
                .where(
                    OutboxRecord.unit_name == unit_name,
                    or_(*of_kind),
                    or_(
                        OutboxRecord.state.in_((OutboxState.SENT, OutboxState.SENDING)),  # type: ignore[attr-defined]
                        (OutboxRecord.state == OutboxState.PENDING) & (OutboxRecord.next_attempt_at <= now),
                    ),
                )
                .order_by(OutboxRecord.id.desc())  # type: ignore[union-attr]
                .limit(1)
            ).first()

    def get_outbox(self, outbox_id: int) -> OutboxRecord | None:
        with self._session() as s:
            return s.get(OutboxRecord, outbox_id)

    def outbox_by_key(self, dedupe_key: str) -> OutboxRecord | None:
        with self._session() as s:
            return s.exec(select(OutboxRecord).where(OutboxRecord.dedupe_key == dedupe_key)).first()

    def outbox_eml(self, record: OutboxRecord) -> bytes | None:
        return self.blobs.read_bytes(record.eml_sha256) if record.eml_sha256 else None

    def outbox(
        self, state: str | None = None, limit: int = 1000, *, unit_name: str | None = None
    ) -> list[OutboxRecord]:
        with self._read_session() as s:
            query = select(OutboxRecord).order_by(OutboxRecord.id)
            if state:
                query = query.where(OutboxRecord.state == state)
            if unit_name is not None:
                query = query.where(OutboxRecord.unit_name == unit_name)
            return list(s.exec(query.limit(limit)).all())

    def due_outbox(self, now: dt.datetime | None = None, limit: int = 100) -> list[OutboxRecord]:
        """Pending messages whose time has come (a look only; senders use `claim_outbox`)."""
        now = now or utcnow()
        with self._session() as s:
            return list(
                s.exec(
                    select(OutboxRecord)
                    .where(OutboxRecord.state == OutboxState.PENDING, OutboxRecord.next_attempt_at <= now)
                    .order_by(OutboxRecord.next_attempt_at, OutboxRecord.id)
                    .limit(limit)
                ).all()
            )

    def claim_outbox(
        self,
        now: dt.datetime | None = None,
        limit: int = 10,
        *,
        channels: Iterable[str] | None = None,
        dedupe_keys: Iterable[str] | None = None,
    ) -> list[OutboxRecord]:
        """Due pending messages, now "sending" with the attempt counted; no message is claimed twice."""
        now = now or utcnow()
        with self._session() as s:
            conditions = [OutboxRecord.state == OutboxState.PENDING, OutboxRecord.next_attempt_at <= now]
            if channels is not None:
                conditions.append(OutboxRecord.channel.in_(list(channels)))  # type: ignore[attr-defined]
            if dedupe_keys is not None:
                conditions.append(OutboxRecord.dedupe_key.in_(list(dedupe_keys)))  # type: ignore[attr-defined]
            rows = s.exec(
                select(OutboxRecord)
                .where(*conditions)
                .order_by(OutboxRecord.next_attempt_at, OutboxRecord.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.state = OutboxState.SENDING
                row.attempts += 1
                row.claimed_at = now
                s.add(row)
            return list(rows)

    def _set_outbox(self, outbox_id: int, action: str, detail: dict[str, Any], **values: Any) -> OutboxRecord:
        with self._session() as s:
            row = s.get(OutboxRecord, outbox_id)
            if row is None:
                raise KeyError(f"no outbox message {outbox_id}")
            for name, value in values.items():
                setattr(row, name, value)
            s.add(row)
            self._audit_row(s, "notify", action, row.unit_name, {"outbox_id": outbox_id, **detail})
            return row

    def mark_outbox_sent(self, outbox_id: int, now: dt.datetime | None = None) -> OutboxRecord:
        return self._set_outbox(
            outbox_id,
            "outbox.sent",
            {},
            state=OutboxState.SENT,
            sent_at=now or utcnow(),
            claimed_at=None,
            last_error=None,
        )

    def mark_outbox_failed(
        self, outbox_id: int, error: str, next_attempt_at: dt.datetime | None = None
    ) -> OutboxRecord:
        """A failed send: retried at `next_attempt_at`, or given up ("failed") when it is None."""
        error = mask_text(error)
        if next_attempt_at is None:
            return self._set_outbox(
                outbox_id,
                "outbox.failed",
                {"error": error},
                state=OutboxState.FAILED,
                last_error=error,
                claimed_at=None,
            )
        return self._set_outbox(
            outbox_id,
            "outbox.retry",
            {"error": error, "next_attempt_at": next_attempt_at.isoformat()},
            state=OutboxState.PENDING,
            last_error=error,
            next_attempt_at=next_attempt_at,
            claimed_at=None,
        )

    def suppress_outbox(self, outbox_id: int, reason: str, *, actor: str = "office") -> OutboxRecord:
        row = self._set_outbox(
            outbox_id, "outbox.suppressed", {"reason": reason, "by": actor}, state=OutboxState.SUPPRESSED
        )
        return row

    def requeue_stale_outbox(self, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Messages left "sending" by a crashed sender go back to pending. The eml keeps its
        Message-ID, so the rare resend (crash between the server's OK and `mark_outbox_sent`)
        is recognisable as the same message."""
        now = now or utcnow()
        with self._session() as s:
            result = s.exec(
                update(OutboxRecord)
                .where(
                    OutboxRecord.state == OutboxState.SENDING,
                    or_(OutboxRecord.claimed_at.is_(None), OutboxRecord.claimed_at < now - older_than),
                )
                .values(state=OutboxState.PENDING, claimed_at=None, next_attempt_at=now)
            )
            return result.rowcount

    # ---- audit -----------------------------------------------------------------------

    def audit(self, actor: str, action: str, unit_name: str | None = None, **detail: Any) -> None:
        """Record a decision; phone and ID numbers in `detail` are masked before they are stored."""
        with self._session() as s:
            self._audit_row(s, actor, action, unit_name, to_jsonable(detail))

    def audit_log(self, *, unit_name: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditLog]:
        """Newest first."""
        with self._session() as s:
            query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
            if unit_name is not None:
                query = query.where(AuditLog.unit_name == unit_name)
            if action is not None:
                query = query.where(AuditLog.action == action)
            return list(s.exec(query).all())

    # ---- small state: mailboxes, paper copies, key-values, reminders -----------------------

    def get_mailbox_state(self, key: str) -> MailboxState | None:
        with self._session() as s:
            return s.exec(select(MailboxState).where(MailboxState.key == key)).first()

    def set_mailbox_state(self, key: str, uidvalidity: int | None, last_uid: int) -> None:
        values = {"key": key, "uidvalidity": uidvalidity, "last_uid": last_uid, "updated_at": utcnow()}
        stmt = self._insert()(MailboxState).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"})
        with self._session() as s:
            s.exec(stmt)

    def record_paper(
        self, unit_name: str, received_on: dt.date, recorded_by: str, note: str | None = None
    ) -> PaperReceipt:
        with self._session() as s:
            row = PaperReceipt(unit_name=unit_name, received_on=received_on, recorded_by=recorded_by, note=note)
            s.add(row)
            self._audit_row(s, recorded_by, "paper.received", unit_name, {"received_on": received_on.isoformat()})
            return row

    def paper_receipts(self, unit_name: str) -> list[PaperReceipt]:
        with self._session() as s:
            query = select(PaperReceipt).where(PaperReceipt.unit_name == unit_name).order_by(PaperReceipt.received_on)
            return list(s.exec(query).all())

    def paper_received(self, unit_name: str) -> bool:
        return bool(self.paper_receipts(unit_name))

    def kv_get(self, key: str, now: dt.datetime | None = None) -> str | None:
        """The value, or None when absent or expired."""
        now = now or utcnow()
        with self._session() as s:
            row = s.exec(select(KeyValue).where(KeyValue.key == key)).first()
            if row is None or (row.expires_at is not None and row.expires_at <= now):
                return None
            return row.value

    def kv_set(self, key: str, value: str, expires_at: dt.datetime | None = None) -> None:
        values = {"key": key, "value": value, "expires_at": expires_at, "updated_at": utcnow()}
        stmt = self._insert()(KeyValue).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"})
        with self._session() as s:
            s.exec(stmt)

    def kv_add(
        self, key: str, value: str, expires_at: dt.datetime | None = None, now: dt.datetime | None = None
    ) -> bool:
        """Set the key only if it is absent (or expired): True for the first caller, safe across processes."""
        now = now or utcnow()
        stmt = self._insert()(KeyValue).values(key=key, value=value, expires_at=expires_at, updated_at=now)
        # One statement: a new key is inserted, an expired one taken over, a live one left alone.
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": value, "expires_at": expires_at, "updated_at": now},
            where=KeyValue.expires_at <= now,  # type: ignore[operator]
        )
        with self._session() as s:
            result = s.exec(stmt)  # type: ignore[call-overload]
            return bool(result.rowcount)

    def kv_delete(self, key: str) -> None:
        with self._session() as s:
            s.exec(delete(KeyValue).where(KeyValue.key == key))

    def try_mark_reminder(self, unit_name: str, slot: str, channel: str) -> bool:
        """True only for the first caller per (unit, slot, channel), across threads and processes."""
        stmt = (
            self._insert()(ReminderSent)
            .values(unit_name=unit_name, slot=slot, channel=channel, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["unit_name", "slot", "channel"])
            .returning(ReminderSent.id)
        )
        with self._session() as s:
            return s.exec(stmt).first() is not None

    def reminders_sent(self, unit_name: str | None = None) -> list[ReminderSent]:
        with self._session() as s:
            query = select(ReminderSent).order_by(ReminderSent.id)
            if unit_name is not None:
                query = query.where(ReminderSent.unit_name == unit_name)
            return list(s.exec(query).all())

    # ---- office users (dashboard logins) -------------------------------------------------

    def add_user(self, username: str, password: str, display_name: str = "", *, actor: str = "office") -> OfficeUser:
        """A new office user, or a new password and name for an existing one (the hash only is stored)."""
        username = username.strip().lower()
        if not username or not password:
            raise ValueError("username and password must not be empty")
        password_hash = hash_password(password)
        with self._session() as s:
            row = s.exec(select(OfficeUser).where(OfficeUser.username == username)).first()
            action = "user.updated" if row else "user.added"
            row = row or OfficeUser(username=username, password_hash=password_hash)
            row.password_hash = password_hash
            row.display_name = display_name or row.display_name or username
            row.active = True
            s.add(row)
            self._audit_row(s, actor, action, None, {"username": username})
            return row

    def get_user(self, username: str) -> OfficeUser | None:
        with self._session() as s:
            return s.exec(select(OfficeUser).where(OfficeUser.username == username.strip().lower())).first()

    def verify_user(self, username: str, password: str) -> OfficeUser | None:
        """The active user when the password is right (last login recorded), else None."""
        row = self.get_user(username)
        ok = verify_password(password, row.password_hash if row else dummy_hash())
        if row is None or not ok or not row.active:
            return None
        with self._session() as s:
            fresh = s.get(OfficeUser, row.id)
            assert fresh is not None
            fresh.last_login = utcnow()
            s.add(fresh)
            return fresh

    # ---- files sent to the WeCom app (bot/files.py) -------------------------------------

    def add_wecom_file(
        self, msg_key: str, user_id: str, media_id: str, filename: str, received_at: dt.datetime
    ) -> bool:
        """Keep a received file's media_id until the desk has the file; False if `msg_key` is known."""
        values = {
            "msg_key": msg_key,
            "user_id": user_id,
            "media_id": media_id,
            "filename": filename,
            "received_at": received_at,
            "state": WeComFileState.PENDING,
            "attempts": 0,
            "next_attempt_at": received_at,
        }
        stmt = self._insert()(WeComPendingFile).values(**values).on_conflict_do_nothing(index_elements=["msg_key"])
        with self._session() as s:
            created = bool(s.exec(stmt).rowcount)  # type: ignore[call-overload]
            if created:
                self._audit_row(s, f"bot:{user_id}", "wecom.file_received", None, {"filename": filename})
            return created

    def claim_wecom_file(self, now: dt.datetime, lease: dt.timedelta) -> WeComPendingFile | None:
        """The next due file, now "working" with the attempt counted. A row left "working" longer
        than `lease` (its worker died) is due again; the conditional update claims it only once."""
        due = or_(
            (WeComPendingFile.state == WeComFileState.PENDING) & (WeComPendingFile.next_attempt_at <= now),
            (WeComPendingFile.state == WeComFileState.WORKING) & (WeComPendingFile.claimed_at <= now - lease),  # type: ignore[operator]
        )
        with self._session() as s:
            for row in s.exec(select(WeComPendingFile).where(due).order_by(WeComPendingFile.id).limit(5)).all():
                claimed = s.exec(
                    update(WeComPendingFile)
                    .where(WeComPendingFile.id == row.id, WeComPendingFile.attempts == row.attempts, due)
                    .values(state=WeComFileState.WORKING, attempts=row.attempts + 1, claimed_at=now)
                )
                if claimed.rowcount:
                    s.commit()
                    return s.get(WeComPendingFile, row.id, populate_existing=True)
        return None

    def finish_wecom_file(
        self,
        file_id: int,
        state: str,
        *,
        now: dt.datetime,
        error: str | None = None,
        retry_at: dt.datetime | None = None,
    ) -> None:
        """Done, given up (expired), or back to pending until `retry_at`."""
        values: dict[str, Any] = {"state": state, "claimed_at": None}
        if error is not None:
            values["last_error"] = mask_text(error)
        if state == WeComFileState.PENDING:
            values["next_attempt_at"] = retry_at or now
        else:
            values["done_at"] = now
        with self._session() as s:
            s.exec(update(WeComPendingFile).where(WeComPendingFile.id == file_id).values(**values))
            if state != WeComFileState.PENDING:
                self._audit_row(
                    s, "bot", f"wecom.file_{state}", None, {"file_id": file_id, "error": values.get("last_error")}
                )

    def resume_wecom_files(self, now: dt.datetime) -> int:
        """At start: files waiting out a backoff are tried at once (a restart may have fixed the cause)."""
        with self._session() as s:
            result = s.exec(
                update(WeComPendingFile)
                .where(WeComPendingFile.state == WeComFileState.PENDING, WeComPendingFile.next_attempt_at > now)
                .values(next_attempt_at=now)
            )
            return result.rowcount

    def wecom_files(self, state: str | None = None) -> list[WeComPendingFile]:
        with self._session() as s:
            query = select(WeComPendingFile).order_by(WeComPendingFile.id)
            if state is not None:
                query = query.where(WeComPendingFile.state == state)
            return list(s.exec(query).all())

    # ---- overview --------------------------------------------------------------------

    def unit_overview(self) -> list[UnitOverview]:
        """Per unit (config order, then units only seen in submissions): what it sent and where it stands.

        Asked for at every office question and page view, it is recomputed only when something
        was written since: every decision is audited, and every evaluation and submission has
        its row, so their highest ids together tell (three index look-ups instead of five
        aggregates over all findings)."""
        with self._read_session() as s:
            marker = (
                s.exec(select(func.max(AuditLog.id))).one(),
                s.exec(select(func.max(DossierSnapshot.id))).one(),
                s.exec(select(func.max(SubmissionRecord.id))).one(),
            )
        cached = self._overview
        if cached is not None and cached[0] == marker:
            return [row.model_copy() for row in cached[1]]
        result = self._unit_overview()
        self._overview = (marker, result)
        return [row.model_copy() for row in result]

    def _unit_overview(self) -> list[UnitOverview]:
        with self._read_session() as s:
            units = s.exec(select(UnitRecord).where(UnitRecord.active).order_by(UnitRecord.position)).all()
            subs = {
                name: (count, last)
                for name, count, last in s.exec(
                    select(SubmissionRecord.unit_name, func.count(), func.max(SubmissionRecord.arrived_at))
                    .where(SubmissionRecord.unit_name.is_not(None))
                    .group_by(SubmissionRecord.unit_name)
                ).all()
            }
            nominees: dict[tuple[str, str], int] = {
                (name, kind): count
                for name, kind, count in s.exec(
                    select(NomineeRecord.unit_name, NomineeRecord.kind, func.count())
                    .where(NomineeRecord.withdrawn == False)  # noqa: E712
                    .group_by(NomineeRecord.unit_name, NomineeRecord.kind)
                ).all()
            }
            latest = (
                select(DossierSnapshot.unit_name, func.max(DossierSnapshot.version).label("version"))
                .group_by(DossierSnapshot.unit_name)
                .subquery()
            )
            versions = {name: version for name, version in s.exec(select(latest.c.unit_name, latest.c.version)).all()}
            severities: dict[tuple[str, str], int] = {
                (name, sev): count
                for name, sev, count in s.exec(
                    select(FindingRecord.unit_name, FindingRecord.severity, func.count())
                    .join(
                        latest,
                        (latest.c.unit_name == FindingRecord.unit_name) & (latest.c.version == FindingRecord.version),
                    )
                    .group_by(FindingRecord.unit_name, FindingRecord.severity)
                ).all()
            }
            paper = set(s.exec(select(PaperReceipt.unit_name).distinct()).all())

        known = {u.name: u.kind for u in units}
        names = [u.name for u in units] + sorted(n for n in subs if n not in known)
        result = []
        for name in names:
            count, last = subs.get(name, (0, None))
            result.append(
                UnitOverview(
                    name=name,
                    kind=known.get(name, "other"),
                    known=name in known,
                    submissions=count,
                    last_arrival=_aware(last),
                    stars=nominees.get((name, "star"), 0),
                    projects=nominees.get((name, "project"), 0),
                    errors=severities.get((name, Severity.ERROR.value), 0),
                    warnings=severities.get((name, Severity.WARNING.value), 0),
                    infos=severities.get((name, Severity.INFO.value), 0),
                    evaluated_version=versions.get(name),
                    paper_received=name in paper,
                )
            )
        return result


# ---- helpers ------------------------------------------------------------------------


def nominees_from_dossier(dossier: Dossier) -> list[NomineeIn]:
    """The dossier's stars and projects as nominees (numbers kept only long enough to hash)."""
    result: list[NomineeIn] = []
    for star in dossier.stars:
        sources = [f for f in (star.row, star.form.fields if star.form else None) if f is not None]

        def pick(attr: str, sources: list[Any] = sources) -> Any:
            return next((getattr(f, attr) for f in sources if getattr(f, attr)), None)

        birth = pick("birth_parsed")
        result.append(
            NomineeIn(
                kind="star",
                name=star.name,
                exemplar=star.exemplar,
                id_number=pick("id_number"),
                birth_month=f"{birth.year:04d}-{birth.month:02d}" if birth and birth.month else None,
                phone=pick("phone"),
                fields={
                    "registered": star.registered,
                    "group": pick("group"),
                    "employer_title": pick("employer_title"),
                    "gender": pick("gender"),
                },
            )
        )
    for project in dossier.projects:
        sources = [f for f in (project.row, project.form.fields if project.form else None) if f is not None]

        def pick(attr: str, sources: list[Any] = sources) -> Any:
            return next((getattr(f, attr) for f in sources if getattr(f, attr)), None)

        result.append(
            NomineeIn(
                kind="project",
                name=project.name,
                exemplar=project.exemplar,
                fields={
                    "registered": project.registered,
                    "organizer": pick("organizer"),
                    "category": pick("category"),
                    "leader": pick("leader"),
                },
            )
        )
    return result


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type: SQLite hands back naive UTC (sometimes as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
