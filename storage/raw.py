"""Raw messages: each received mail's exact bytes (in the blob store) and its row, the work queue.

A message is stored once per content; the pipeline claims the oldest new one, and a message
that keeps failing (or kills its worker) ends in quarantine instead of looping forever.

A failed message is `defer`red: back to "new" with a `retry_at` before which nobody claims it.
Every claim counts in `attempts`; a transient failure (a full disk, a locked database) also
counts in `transient_failures`, and only the rest (`deterministic_failures`: failures that will
fail again, and claims whose worker was killed) lead to quarantine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import select

from config.jsonable import to_jsonable
from config.masking import mask_text
from intake.headers import body_digest, read_envelope
from storage.audit import AuditRepo
from storage.base import Database, Repo
from storage.leases import lease_until, log_not_holder, worker_id
from storage.tables import RawMessageRecord, RawState, utcnow


def wecom_user_of(record: RawMessageRecord) -> str | None:
    """The WeCom user a raw message came from (WeCom files are kept as mails), else None."""
    if record.source != "wecom" or not record.source_ref:
        return None
    return record.source_ref.split(":")[1]


def deterministic_failures(record: RawMessageRecord) -> int:
    """The claims of a message that did not end in a transient failure: failures that will come
    again, and workers killed while on it (a claim counts as an attempt before any work)."""
    return record.attempts - record.transient_failures


class RawRepo(Repo):
    def __init__(self, db: Database, audit: AuditRepo) -> None:
        super().__init__(db)
        self._audit = audit

    def put(
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
            head = read_envelope(self.blobs.local_path(blob.sha256))
            message_id = message_id if message_id is not None else head.message_id
            sender = sender if sender is not None else head.sender or head.from_text
            subject = subject if subject is not None else head.subject
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
                    body = body_digest(self.blobs.local_path(blob.sha256))
                    original = next((c for c in candidates if body_digest(self.path(c)) == body), None)
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

    def path(self, record: RawMessageRecord) -> Path:
        return self.blobs.local_path(record.sha256)  # a file here, whichever store holds it

    def get(self, raw_id: int) -> RawMessageRecord | None:
        with self._session() as s:
            return s.get(RawMessageRecord, raw_id)

    def all(self, state: str | None = None, limit: int = 1000) -> list[RawMessageRecord]:
        with self._session() as s:
            query = select(RawMessageRecord).order_by(RawMessageRecord.received_at, RawMessageRecord.id)
            if state:
                query = query.where(RawMessageRecord.state == state)
            return list(s.exec(query.limit(limit)).all())

    def claim_next(
        self,
        now: dt.datetime | None = None,
        *,
        worker: str | None = None,
        lease: dt.timedelta | None = None,
    ) -> RawMessageRecord | None:
        """The oldest new message not waiting for its retry, now "processing", counted as an attempt
        and leased to `worker` (default: this process, `storage.leases.worker_id`) for `lease` of
        real time (default NOMDESK_LEASE_SECONDS); no row is given twice, by any process.

        `now` is the desk's clock (retry times are on it); the lease is on real time. Deferred rows
        stay "new" (ix_raw_message_state_received still finds the queue; the ones whose `retry_at`
        is ahead are filtered from that short list, a few even when a full disk deferred every
        mail). SKIP LOCKED on PostgreSQL; on SQLite BEGIN IMMEDIATE serialises the claimers."""
        now = now or utcnow()
        with self._session() as s:
            row = s.exec(
                select(RawMessageRecord)
                .where(
                    RawMessageRecord.state == RawState.NEW,
                    or_(RawMessageRecord.retry_at.is_(None), RawMessageRecord.retry_at <= now),
                )
                .order_by(RawMessageRecord.received_at, RawMessageRecord.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.state = RawState.PROCESSING
            row.attempts += 1
            row.claimed_at = now
            row.claimed_by = worker or worker_id()
            row.lease_until = lease_until(lease)
            row.retry_at = None  # its wait is over
            s.add(row)
            return row

    @staticmethod
    def _held_by_another(row: RawMessageRecord, worker: str | None) -> bool:
        """A claimed row another worker holds now (this one's lease ran out and it was taken back
        and claimed again): this worker's result must not overwrite the new holder's work."""
        if row.state != RawState.PROCESSING or row.claimed_by is None:
            return False
        mine = worker or worker_id()
        if row.claimed_by == mine:
            return False
        log_not_holder("raw message", row.id, mine, row.claimed_by)
        return True

    @staticmethod
    def _release(row: RawMessageRecord) -> None:
        row.claimed_at = None
        row.claimed_by = None
        row.lease_until = None

    def mark(self, raw_id: int, state: str, error: str | None = None) -> RawMessageRecord:
        if state not in RawState.ALL:
            raise ValueError(f"unknown raw message state: {state}")
        with self._session() as s:
            row = s.get(RawMessageRecord, raw_id)
            if row is None:
                raise KeyError(f"no raw message {raw_id}")
            row.state = state
            row.last_error = mask_text(error) if error else None
            row.retry_at = None  # queued by a person (a retry, an assignment): at once
            if state != RawState.PROCESSING:
                self._release(row)
            s.add(row)
            return row

    def finish(self, raw_id: int, state: str, *, was: str, error: str | None = None, worker: str | None = None) -> bool:
        """The pipeline is done with a message it took in state `was`: it moves to `state` unless it
        was queued again meanwhile (the office assigned it while it was being read: `mark(NEW)`),
        which must not be undone, or another worker holds it now (`worker`, default this process,
        lost its lease: see storage/leases.py). Whether it moved."""
        with self._session() as s:
            row = s.exec(select(RawMessageRecord).where(RawMessageRecord.id == raw_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no raw message {raw_id}")
            if row.state != was or self._held_by_another(row, worker):
                return False
            row.state = state
            row.last_error = mask_text(error) if error else None
            self._release(row)
            s.add(row)
            return True

    def defer(
        self,
        raw_id: int,
        error: str,
        retry_at: dt.datetime,
        *,
        transient: bool,
        was: str = RawState.PROCESSING,
        worker: str | None = None,
    ) -> RawMessageRecord | None:
        """Processing failed: the message goes back to the queue, to be claimed no earlier than
        `retry_at`, with its (masked) error. A `transient` failure is counted apart and never leads
        to quarantine. None (nothing changed) when the message left state `was` meanwhile (the
        office queued it again, see `finish`): that queueing stands; or when another worker holds
        it now (`worker`, default this process, lost its lease)."""
        with self._session() as s:
            row = s.exec(select(RawMessageRecord).where(RawMessageRecord.id == raw_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no raw message {raw_id}")
            if row.state != was or self._held_by_another(row, worker):
                return None
            row.state = RawState.NEW
            row.retry_at = retry_at
            row.last_error = mask_text(error)
            self._release(row)
            if transient:
                row.transient_failures += 1
            s.add(row)
            detail = {"raw_id": raw_id, "transient": transient, "retry_at": retry_at.isoformat(), "error": error}
            self._audit_row(s, "system", "raw.deferred", None, detail)
            return row

    def quarantine(self, raw_id: int, error: str, *, worker: str | None = None) -> RawMessageRecord | None:
        """The message waits for a person. With `worker` (the pipeline's, on a row it claimed): None,
        and nothing changed, when another worker holds it now (this one lost its lease)."""
        with self._session() as s:
            row = s.exec(select(RawMessageRecord).where(RawMessageRecord.id == raw_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no raw message {raw_id}")
            if worker is not None and self._held_by_another(row, worker):
                return None
            row.state = RawState.QUARANTINED
            row.last_error = mask_text(error)
            row.retry_at = None
            self._release(row)
            s.add(row)
            self._audit_row(s, "system", "raw.quarantined", None, to_jsonable({"raw_id": raw_id, "error": error}))
            return row
