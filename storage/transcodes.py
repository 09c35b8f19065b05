"""Compliant copies of units' videos: one job per (unit, source file), from queued to the unit's choice.

queued -> running (claimed under a lease) -> done (the copy is a blob) -> accepted | kept;
running -> failed. A job is claimed like the rows of storage/leases.py: a conditional update
names the worker and a lease on real time, and every progress report renews it, so a job whose
desk died goes back to the queue when its lease has run out and two desks never make one copy
twice. Offering a copy again is idempotent: the same job, re-queued only when it had failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import select

from config.clock import real_now
from config.masking import mask_text
from storage.base import Repo
from storage.leases import claim_first, lease_until, log_not_holder, worker_id
from storage.tables import TranscodeJob, TranscodeState

ERROR_CHARS = 2000


class TranscodeRepo(Repo):
    def offer(self, unit: str, file_id: int, source_path: str, nominee: str, actor: str) -> TranscodeJob:
        """The job making a copy of `file_id`: a new one queued, or the existing one (a failed one
        queued again; a kept one back to done, its copy offered again)."""
        values = {
            "unit_name": unit,
            "source_file_id": file_id,
            "source_path": source_path,
            "nominee": nominee,
            "state": TranscodeState.QUEUED,
            "progress": 0.0,
            "attempts": 0,
            "requested_by": actor,
            "created_at": real_now(),
        }
        stmt = (
            self._insert()(TranscodeJob)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["unit_name", "source_file_id"])
            .returning(TranscodeJob.id)
        )
        mine = (TranscodeJob.unit_name == unit) & (TranscodeJob.source_file_id == file_id)
        with self._session() as s:
            if s.exec(stmt).first() is not None:
                self._audit_row(s, actor, "transcode.offered", unit, {"file_id": file_id, "path": source_path})
            else:
                again = {TranscodeState.FAILED: TranscodeState.QUEUED, TranscodeState.KEPT: TranscodeState.DONE}
                for old, new in again.items():
                    back: dict[str, Any] = {"state": new}
                    if new == TranscodeState.QUEUED:
                        back.update(progress=0.0, error=None, requested_by=actor)
                    s.exec(update(TranscodeJob).where(mine, TranscodeJob.state == old).values(**back))
            s.commit()
            job = s.exec(select(TranscodeJob).where(mine)).one()
            return job

    def get(self, job_id: int) -> TranscodeJob | None:
        with self._read_session() as s:
            return s.get(TranscodeJob, job_id)

    def for_file(self, unit: str, file_id: int) -> TranscodeJob | None:
        with self._read_session() as s:
            where = (TranscodeJob.unit_name == unit) & (TranscodeJob.source_file_id == file_id)
            return s.exec(select(TranscodeJob).where(where)).first()

    def of_unit(self, unit: str) -> list[TranscodeJob]:
        with self._read_session() as s:
            return list(s.exec(select(TranscodeJob).where(TranscodeJob.unit_name == unit).order_by(TranscodeJob.id)))

    def claim(self, lease: dt.timedelta | None = None, *, worker: str | None = None) -> TranscodeJob | None:
        """The oldest queued job (or one running whose lease ran out: its desk died), now running,
        leased to `worker` (default this process)."""
        now = real_now()
        holder, until = worker or worker_id(), lease_until(lease)
        claimable = or_(
            TranscodeJob.state == TranscodeState.QUEUED,
            and_(
                TranscodeJob.state == TranscodeState.RUNNING,
                or_(TranscodeJob.lease_until.is_(None), TranscodeJob.lease_until < now),  # type: ignore[union-attr]
            ),
        )
        values = {
            "state": TranscodeState.RUNNING,
            "progress": 0.0,
            "started_at": now,
            "claimed_by": holder,
            "lease_until": until,
        }
        with self._session() as s:
            return claim_first(s, TranscodeJob, claimable, values)

    def report(
        self, job_id: int, share: float, lease: dt.timedelta | None = None, *, worker: str | None = None
    ) -> bool:
        """Progress of a running job, its lease renewed; False when `worker` no longer holds it."""
        values = {"progress": min(max(share, 0.0), 1.0), "lease_until": lease_until(lease)}
        return self._held_update(job_id, worker, values, log_lost=False)

    def finish(self, job_id: int, sha256: str, size: int, *, worker: str | None = None) -> bool:
        values = {
            "state": TranscodeState.DONE,
            "progress": 1.0,
            "output_sha256": sha256,
            "output_size": size,
            "error": None,
            "finished_at": real_now(),
        }
        return self._held_update(job_id, worker, values | self._released())

    def fail(self, job_id: int, error: str, *, worker: str | None = None) -> bool:
        values = {"state": TranscodeState.FAILED, "error": mask_text(error)[-ERROR_CHARS:], "finished_at": real_now()}
        return self._held_update(job_id, worker, values | self._released())

    def release(self, job_id: int, *, worker: str | None = None) -> bool:
        """A running job handed back to the queue (the desk is stopping); started again later."""
        values = {"state": TranscodeState.QUEUED, "progress": 0.0}
        return self._held_update(job_id, worker, values | self._released())

    def decide(self, job_id: int, state: str, actor: str, *, raw_id: int | None = None) -> bool:
        """A done copy accepted (replacing the original) or the original kept; True only for the one
        call that moved it from done, so a second click does not upload the copy twice."""
        assert state in (TranscodeState.ACCEPTED, TranscodeState.KEPT)
        values = {"state": state, "decided_by": actor, "decided_at": real_now(), "replacement_raw_id": raw_id}
        with self._session() as s:
            result = s.exec(
                update(TranscodeJob)
                .where(TranscodeJob.id == job_id, TranscodeJob.state == TranscodeState.DONE)
                .values(**values)
            )
            if not result.rowcount:
                return False
            row = s.get(TranscodeJob, job_id)
            unit = row.unit_name if row else None
            self._audit_row(s, actor, f"transcode.{state}", unit, {"job_id": job_id, "raw_id": raw_id})
            return True

    def undecide(self, job_id: int) -> None:
        """An accept whose upload failed: the copy is offered again."""
        with self._session() as s:
            s.exec(
                update(TranscodeJob)
                .where(TranscodeJob.id == job_id, TranscodeJob.state == TranscodeState.ACCEPTED)
                .values(state=TranscodeState.DONE, decided_by=None, decided_at=None, replacement_raw_id=None)
            )

    def set_replacement(self, job_id: int, raw_id: int) -> None:
        with self._session() as s:
            s.exec(update(TranscodeJob).where(TranscodeJob.id == job_id).values(replacement_raw_id=raw_id))

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _released() -> dict[str, Any]:
        return {"claimed_by": None, "lease_until": None}

    def _held_update(self, job_id: int, worker: str | None, values: dict[str, Any], *, log_lost: bool = True) -> bool:
        mine = worker or worker_id()
        held = (
            (TranscodeJob.id == job_id)
            & (TranscodeJob.state == TranscodeState.RUNNING)
            & (TranscodeJob.claimed_by == mine)
        )
        with self._session() as s:
            result = s.exec(update(TranscodeJob).where(held).values(**values))
            if result.rowcount:
                if values.get("state") in (TranscodeState.DONE, TranscodeState.FAILED):
                    row = s.get(TranscodeJob, job_id)
                    detail = {"job_id": job_id, "error": values.get("error")}
                    self._audit_row(s, "system", f"transcode.{values['state']}", row.unit_name if row else None, detail)
                return True
            if log_lost:
                holder = s.exec(select(TranscodeJob.claimed_by).where(TranscodeJob.id == job_id)).first()
                log_not_holder("transcode job", job_id, mine, holder)
            return False
