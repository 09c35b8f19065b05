"""Files sent to the WeCom app, kept by media id until the desk has fetched them (bot/files.py).

A worker claims a due file, leased to it (storage/leases.py: a claim left by a dead worker
goes back to pending once its lease has run out), then finishes it: done, given up, or back to
pending until a retry time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import select

from config.masking import mask_text
from storage.base import Repo
from storage.leases import claim_first, lease_until, log_not_holder, worker_id
from storage.tables import WeComFileState, WeComPendingFile


class WeComFileRepo(Repo):
    def add(self, msg_key: str, user_id: str, media_id: str, filename: str, received_at: dt.datetime) -> bool:
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
        stmt = (
            self._insert()(WeComPendingFile)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["msg_key"])
            .returning(WeComPendingFile.id)  # rowcount says -1 here on PostgreSQL, whether inserted or not
        )
        with self._session() as s:
            created = s.exec(stmt).first() is not None
            if created:
                self._audit_row(s, f"bot:{user_id}", "wecom.file_received", None, {"filename": filename})
            return created

    def claim(
        self,
        now: dt.datetime,
        lease: dt.timedelta | None = None,
        *,
        worker: str | None = None,
    ) -> WeComPendingFile | None:
        """The next due file, now "working" with the attempt counted and leased to `worker`
        (default: this process) for `lease` of real time (default NOMDESK_LEASE_SECONDS). A row
        whose worker died comes back to "pending" through `store.leases.take_back_expired` once
        its lease has run out; the conditional update claims a row only once, across processes."""
        due = (WeComPendingFile.state == WeComFileState.PENDING) & (WeComPendingFile.next_attempt_at <= now)
        holder, until = worker or worker_id(), lease_until(lease)
        values = {"state": WeComFileState.WORKING, "claimed_at": now, "claimed_by": holder, "lease_until": until}
        with self._session() as s:
            return claim_first(s, WeComPendingFile, due, values)

    def finish(
        self,
        file_id: int,
        state: str,
        *,
        now: dt.datetime,
        error: str | None = None,
        retry_at: dt.datetime | None = None,
        worker: str | None = None,
    ) -> bool:
        """Done, given up (expired), or back to pending until `retry_at`. A row "working" for
        another worker (this one, `worker`, default this process, lost its lease and the file was
        claimed again) is left to it: False. A pending row (a held file postponed or released by
        its name) is anyone's to change."""
        values: dict[str, Any] = {"state": state, "claimed_at": None, "claimed_by": None, "lease_until": None}
        if error is not None:
            values["last_error"] = mask_text(error)
        if state == WeComFileState.PENDING:
            values["next_attempt_at"] = retry_at or now
        else:
            values["done_at"] = now
        mine = worker or worker_id()
        not_anothers = or_(
            WeComPendingFile.state != WeComFileState.WORKING,
            WeComPendingFile.claimed_by.is_(None),  # type: ignore[union-attr]
            WeComPendingFile.claimed_by == mine,
        )
        with self._session() as s:
            result = s.exec(
                update(WeComPendingFile).where(WeComPendingFile.id == file_id, not_anothers).values(**values)
            )
            if not result.rowcount:
                holder = s.exec(select(WeComPendingFile.claimed_by).where(WeComPendingFile.id == file_id)).first()
                log_not_holder("WeCom file", file_id, mine, holder)
                return False
            if state != WeComFileState.PENDING:
                self._audit_row(
                    s, "bot", f"wecom.file_{state}", None, {"file_id": file_id, "error": values.get("last_error")}
                )
            return True

    def waiting(self, user_id: str, after: dt.datetime) -> list[WeComPendingFile]:
        """The user's never-tried pending files due only after `after` (held files, oldest first):
        one query on ix_wecom_pending_file_state_due, which reads only the few rows due later."""
        with self._read_session() as s:
            return list(
                s.exec(
                    select(WeComPendingFile)
                    .where(
                        WeComPendingFile.state == WeComFileState.PENDING,
                        WeComPendingFile.next_attempt_at > after,
                        WeComPendingFile.user_id == user_id,
                        WeComPendingFile.attempts == 0,
                    )
                    .order_by(WeComPendingFile.id)
                ).all()
            )

    def resume(self, now: dt.datetime) -> int:
        """At start: files waiting out a backoff are tried at once (a restart may have fixed the cause).
        A file never tried is not waiting out a backoff but held for its name (bot/files.py): it
        keeps waiting, as another desk process on the database may be the one its contact talks to."""
        with self._session() as s:
            result = s.exec(
                update(WeComPendingFile)
                .where(
                    WeComPendingFile.state == WeComFileState.PENDING,
                    WeComPendingFile.next_attempt_at > now,
                    WeComPendingFile.attempts > 0,
                )
                .values(next_attempt_at=now)
            )
            return result.rowcount

    def all(self, state: str | None = None) -> list[WeComPendingFile]:
        with self._session() as s:
            query = select(WeComPendingFile).order_by(WeComPendingFile.id)
            if state is not None:
                query = query.where(WeComPendingFile.state == state)
            return list(s.exec(query).all())
