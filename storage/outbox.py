"""The outbox: every mail and chat message the desk sends, queued once per dedupe key.

Senders claim due messages (no message twice), mark them sent or failed (retried later, or
given up); a crashed sender's claims go back to the queue. The reply policy reads the queue
too: how often a person was written to, the last receipt a unit got, and which held-back
replies a newer one supersedes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, func, or_
from sqlmodel import select

from config.masking import mask_text
from intake.headers import read_envelope
from storage.base import Repo, aware
from storage.leases import lease_until, log_not_holder, worker_id
from storage.tables import OutboxRecord, OutboxState, utcnow

RELEASED: dict[str, Any] = {"claimed_at": None, "claimed_by": None, "lease_until": None}  # a claim ended


def _json_text(column: Any) -> Any:
    """A JSON column as lower-case text, on SQLite and PostgreSQL alike: a cheap LIKE narrows the
    rows to read (a superset: the caller still checks each row's list exactly)."""
    return func.lower(cast(column, String))


class OutboxRepo(Repo):
    def enqueue(
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
        suppressed: str | None = None,
        actor: str = "notify",
    ) -> tuple[OutboxRecord, bool]:
        """Queue a message once per dedupe key (reply:<raw_id>, ...): a second call returns the first.
        `evaluation_version`: for a receipt, the unit's evaluation it describes. `suppressed`: the
        reason it must never go (a bulk sender, a robot): the row is created suppressed, reason and
        audit in the same transaction, so no crash can leave it sendable for a moment."""
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
                if suppressed:
                    row.state, row.last_error = OutboxState.SUPPRESSED, suppressed
                s.add(row)
                s.flush()
                self._audit_row(
                    s,
                    "notify",
                    "outbox.enqueued",
                    unit_name,
                    {"outbox_id": row.id, "channel": channel, "dedupe_key": dedupe_key, "recipients": recipients},
                )
                if suppressed:
                    detail = {"outbox_id": row.id, "reason": suppressed, "by": actor}
                    self._audit_row(s, "notify", "outbox.suppressed", unit_name, detail)
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
                    and aware(r.next_attempt_at) > now
                )

            times = [
                aware(r.sent_at or r.next_attempt_at)
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

    def get(self, outbox_id: int) -> OutboxRecord | None:
        with self._session() as s:
            return s.get(OutboxRecord, outbox_id)

    def by_key(self, dedupe_key: str) -> OutboxRecord | None:
        with self._session() as s:
            return s.exec(select(OutboxRecord).where(OutboxRecord.dedupe_key == dedupe_key)).first()

    def message_ids_to(self, recipient: str, since: dt.datetime) -> set[str]:
        """The Message-IDs of the mails that went to `recipient` from `since` on: a mail that answers
        one of them comes from someone who received the desk's letter (a conversation, not a forgery)."""
        recipient = recipient.lower()
        query = select(OutboxRecord).where(
            OutboxRecord.channel == "mail",
            OutboxRecord.state == OutboxState.SENT,
            OutboxRecord.sent_at >= since,
            OutboxRecord.eml_sha256.is_not(None),
        )
        quoted = json.dumps(recipient)
        if quoted == f'"{recipient}"':  # as the JSON text holds it (no escape): narrowed in SQL
            query = query.where(_json_text(OutboxRecord.recipients).contains(quoted, autoescape=True))
        with self._read_session() as s:
            rows = s.exec(query).all()
        found: set[str] = set()
        for row in rows:
            if recipient in [r.lower() for r in row.recipients] and row.eml_sha256:
                message_id = read_envelope(self.blobs.local_path(row.eml_sha256)).message_id
                if message_id:
                    found.add(message_id)
        return found

    def eml(self, record: OutboxRecord) -> bytes | None:
        return self.blobs.read_bytes(record.eml_sha256) if record.eml_sha256 else None

    def all(self, state: str | None = None, limit: int = 1000, *, unit_name: str | None = None) -> list[OutboxRecord]:
        with self._read_session() as s:
            query = select(OutboxRecord).order_by(OutboxRecord.id)
            if state:
                query = query.where(OutboxRecord.state == state)
            if unit_name is not None:
                query = query.where(OutboxRecord.unit_name == unit_name)
            return list(s.exec(query.limit(limit)).all())

    def claim(
        self,
        now: dt.datetime | None = None,
        limit: int = 10,
        *,
        channels: Iterable[str] | None = None,
        dedupe_keys: Iterable[str] | None = None,
        worker: str | None = None,
        lease: dt.timedelta | None = None,
    ) -> list[OutboxRecord]:
        """Due pending messages, now "sending" with the attempt counted and leased to `worker`
        (default: this process) for `lease` of real time (default NOMDESK_LEASE_SECONDS); no
        message is claimed twice, by any process. `now`: the desk's clock, which due times are on."""
        now = now or utcnow()
        holder, until = worker or worker_id(), lease_until(lease)
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
                row.claimed_by, row.lease_until = holder, until
                s.add(row)
            return list(rows)

    def _set(
        self, outbox_id: int, action: str, detail: dict[str, Any], worker: str | None = None, **values: Any
    ) -> OutboxRecord | None:
        """Change one row, with its audit. With `worker` (a sender finishing a row it claimed):
        None, and nothing changed, when another worker holds the row now (this one's lease ran out
        and the row was claimed again). A row nobody holds (taken back, not yet claimed again) is
        this sender's to finish: it did send it, and marking it spares a second send."""
        with self._session() as s:
            row = s.exec(select(OutboxRecord).where(OutboxRecord.id == outbox_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no outbox message {outbox_id}")
            if worker is not None and row.state == OutboxState.SENDING and row.claimed_by not in (None, worker):
                log_not_holder("outbox", outbox_id, worker, row.claimed_by)
                return None
            for name, value in values.items():
                setattr(row, name, value)
            s.add(row)
            self._audit_row(s, "notify", action, row.unit_name, {"outbox_id": outbox_id, **detail})
            return row

    def mark_sent(
        self, outbox_id: int, now: dt.datetime | None = None, *, worker: str | None = None
    ) -> OutboxRecord | None:
        """Sent, by `worker` (default this process): None when another worker holds it now."""
        return self._set(
            outbox_id,
            "outbox.sent",
            {},
            worker or worker_id(),
            state=OutboxState.SENT,
            sent_at=now or utcnow(),
            **RELEASED,
            last_error=None,
        )

    def mark_failed(
        self,
        outbox_id: int,
        error: str,
        next_attempt_at: dt.datetime | None = None,
        *,
        worker: str | None = None,
    ) -> OutboxRecord | None:
        """A failed send: retried at `next_attempt_at`, or given up ("failed") when it is None.
        None when another worker holds it now (`worker`, default this process, lost its lease)."""
        error = mask_text(error)
        worker = worker or worker_id()
        if next_attempt_at is None:
            return self._set(
                outbox_id,
                "outbox.failed",
                {"error": error},
                worker,
                state=OutboxState.FAILED,
                last_error=error,
                **RELEASED,
            )
        return self._set(
            outbox_id,
            "outbox.retry",
            {"error": error, "next_attempt_at": next_attempt_at.isoformat()},
            worker,
            state=OutboxState.PENDING,
            last_error=error,
            next_attempt_at=next_attempt_at,
            **RELEASED,
        )

    def suppress(self, outbox_id: int, reason: str, *, actor: str = "office") -> OutboxRecord:
        """Stop a queued message (the office's decision). A reply the policy must not send is never
        queued sendable in the first place: `enqueue(..., suppressed=reason)`."""
        detail = {"reason": reason, "by": actor}
        row = self._set(
            outbox_id, "outbox.suppressed", detail, state=OutboxState.SUPPRESSED, last_error=reason, **RELEASED
        )
        assert row is not None  # no holder check without a worker
        return row
