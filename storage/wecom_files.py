"""Files sent to the WeCom app, kept by media id until the desk has fetched them (bot/files.py).

A worker claims a due file (a claim left by a dead worker is due again after its lease), then
finishes it: done, given up, or back to pending until a retry time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import select

from config.masking import mask_text
from storage.base import Repo
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

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> WeComPendingFile | None:
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

    def finish(
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

    def resume(self, now: dt.datetime) -> int:
        """At start: files waiting out a backoff are tried at once (a restart may have fixed the cause)."""
        with self._session() as s:
            result = s.exec(
                update(WeComPendingFile)
                .where(WeComPendingFile.state == WeComFileState.PENDING, WeComPendingFile.next_attempt_at > now)
                .values(next_attempt_at=now)
            )
            return result.rowcount

    def all(self, state: str | None = None) -> list[WeComPendingFile]:
        with self._session() as s:
            query = select(WeComPendingFile).order_by(WeComPendingFile.id)
            if state is not None:
                query = query.where(WeComPendingFile.state == state)
            return list(s.exec(query).all())
