"""Small state: IMAP progress per mailbox, paper copies received, key-values, reminders sent,
the units waiting to be checked again, and the office's own notes on units and nominees.

Each is a handful of rows the desk keeps between runs; the writes that must happen once
(a key taken, a reminder per slot) rest on unique constraints, so they hold across processes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete
from sqlmodel import select

from storage.base import Repo
from storage.tables import KeyValue, MailboxState, OfficeNote, PaperReceipt, ReminderSent, utcnow

RECHECK_PREFIX = "recheck:"  # a key-value per unit waiting to be checked again; its value is the request's token


class StateRepo(Repo):
    def get_mailbox(self, key: str) -> MailboxState | None:
        with self._session() as s:
            return s.exec(select(MailboxState).where(MailboxState.key == key)).first()

    def set_mailbox(self, key: str, uidvalidity: int | None, last_uid: int) -> None:
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

    def paper_dates(self) -> dict[str, list[dt.date]]:
        """Every unit's paper receipt dates in order, in one query (the digest lists every unit)."""
        dates: dict[str, list[dt.date]] = {}
        with self._read_session() as s:
            query = select(PaperReceipt.unit_name, PaperReceipt.received_on)
            for unit_name, received_on in s.exec(query.order_by(PaperReceipt.received_on, PaperReceipt.id)).all():
                dates.setdefault(unit_name, []).append(received_on)
        return dates

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

    def request_recheck(self, unit_name: str) -> None:
        """Ask the pipeline to check the unit again (its paper copies arrived): once, however often asked."""
        self.kv_set(RECHECK_PREFIX + unit_name, uuid.uuid4().hex)  # a new token: a check under way does not take it

    def rechecks(self) -> list[tuple[str, str]]:
        """(unit, token) of every unit waiting to be checked again, oldest request first."""
        with self._session() as s:
            rows = s.exec(
                select(KeyValue).where(KeyValue.key.startswith(RECHECK_PREFIX)).order_by(KeyValue.updated_at)  # type: ignore[attr-defined]
            ).all()
            return [(row.key.removeprefix(RECHECK_PREFIX), row.value) for row in rows]

    def recheck_done(self, unit_name: str, token: str) -> None:
        """The unit was checked for the request `token`; a request made meanwhile (a new token) stays."""
        with self._session() as s:
            s.exec(delete(KeyValue).where(KeyValue.key == RECHECK_PREFIX + unit_name, KeyValue.value == token))

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

    # ---- the office's notes (never sent to a unit) -------------------------------------------

    def add_note(self, unit_name: str, text: str, *, author: str, nominee: str | None = None) -> OfficeNote:
        text = text.strip()
        if not text:
            raise ValueError("备注内容不能为空")
        with self._session() as s:
            row = OfficeNote(unit_name=unit_name, nominee=(nominee or "").strip() or None, text=text, author=author)
            s.add(row)
            s.flush()
            self._audit_row(s, author, "note.added", unit_name, {"note_id": row.id, "nominee": row.nominee})
            return row

    def notes(self, unit_name: str) -> list[OfficeNote]:
        """The unit's notes (its nominees' included), oldest first."""
        with self._read_session() as s:
            query = select(OfficeNote).where(OfficeNote.unit_name == unit_name).order_by(OfficeNote.id)
            return list(s.exec(query).all())
