"""Submissions (what one raw message brought for a unit, numbered per unit) and their files.

A submission is made once per raw message; its files' bytes live in the blob store, the rows
say which submission they came with. The office may say later which unit a submission is of.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from intake.models import PackageFile, VolumePart
from storage.base import Repo
from storage.models import NewFile, WaitingMail, waiting_by_unit
from storage.raw import wecom_user_of
from storage.tables import FileRecord, RawMessageRecord, SubmissionRecord, utcnow


def sender_address(row: SubmissionRecord, raw_sender: str | None = None) -> str:
    """The From address of the mail a submission came with, lower case ("" when it had none): how
    the 待确认 queue tells one sender's mails from another's."""
    submission = (row.summary or {}).get("submission") or {}
    _, address = parseaddr(submission.get("sender") or raw_sender or "")
    return address.strip().lower()


VOLUME_KIND = "volume"  # a stored file that is a volume of a multi-volume archive, not a package file


class SubmissionRepo(Repo):
    def store_file(self, package_file: PackageFile) -> NewFile:
        """Keep a submission's file in the blob store; the result goes to `add`."""
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

    def store_volume(self, volume: VolumePart) -> NewFile:
        """Keep one volume of a multi-volume archive (kind "volume") with the submission it came
        with: its set may be made whole only by a later mail, and is joined from these bytes then."""
        blob = self.blobs.put_file(volume.local)
        return NewFile(path=volume.path, sha256=blob.sha256, size=blob.size, kind=VOLUME_KIND)

    def file_path(self, record: FileRecord | NewFile) -> Path:
        return self.blobs.local_path(record.sha256)

    def add(
        self,
        raw_message_id: int,
        *,
        unit_name: str | None,
        arrived_at: dt.datetime,
        unit_confirmed: bool = False,
        summary: dict[str, Any] | None = None,
        files: Iterable[NewFile] = (),
        held_unit: str | None = None,
        held_reason: str | None = None,
    ) -> tuple[SubmissionRecord, bool]:
        """The submission a raw message made, with its files; idempotent per raw message.

        `held_unit`: a mail from that unit's contact whose sender failed authentication is kept
        out of the unit (`unit_name` None) in the 待确认 queue with `held_reason`, in the same
        transaction: a crash can never leave it unheld for `nomdesk.desk` to pull into the unit."""
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
                    held_unit=held_unit,
                    held_reason=held_reason,
                )
                s.add(row)
                s.flush()
                for f in files:
                    s.add(FileRecord(submission_id=row.id, **f.model_dump()))
                if held_unit is not None:
                    detail = {"submission_id": row.id, "raw_id": raw_message_id, "reason": held_reason}
                    self._audit_row(s, "intake", "submission.held", held_unit, detail)
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

    def assign_unit(
        self,
        submission_id: int,
        unit_name: str,
        *,
        confirmed: bool = True,
        actor: str = "office",
        only_waiting: bool = False,
    ) -> SubmissionRecord:
        """The office says which unit a submission belongs to (an unknown sender's mail). With
        `only_waiting`, only while it is still in the 待确认 queue (no unit, not rejected), checked
        and set in one transaction: of two clerks confirming the same mail at once, one wins and the
        other gets a ValueError."""

        def attempt() -> SubmissionRecord:
            with self._session() as s:
                query = select(SubmissionRecord).where(SubmissionRecord.id == submission_id)
                row = s.exec(query.with_for_update()).first()
                if row is None:
                    raise KeyError(f"no submission {submission_id}")
                if only_waiting and (
                    row.unit_name is not None or row.rejected_at is not None or row.voided_at is not None
                ):
                    raise ValueError(f"submission {submission_id} is no longer waiting")
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

    def update_read(
        self, submission_id: int, submission: dict[str, Any], files: Iterable[NewFile], *, joined: list[str]
    ) -> bool:
        """What a submission brought, read again because it completed volume sets (`joined`: their
        names) begun in earlier mails: its stored reading (`summary["submission"]`) is replaced and
        the joined archives' files are added to it, with the audit row, in one transaction.

        Checked and set at once (the row is locked): when one of `joined` is already among the
        stored reading's `joined_volumes` (another check of the unit joined it first), or the
        submission was voided meanwhile, nothing is written and the answer is False."""
        files = list(files)
        with self._session() as s:
            query = select(SubmissionRecord).where(SubmissionRecord.id == submission_id)
            row = s.exec(query.with_for_update()).first()
            if row is None:
                raise KeyError(f"no submission {submission_id}")
            stored = (row.summary or {}).get("submission") or {}
            if row.voided_at is not None or set(joined) & set(stored.get("joined_volumes") or []):
                return False
            row.summary = {**(row.summary or {}), "submission": submission}  # a new dict: the change is seen
            s.add(row)
            for f in files:
                s.add(FileRecord(submission_id=submission_id, **f.model_dump()))
            detail = {"submission_id": submission_id, "raw_id": row.raw_message_id, "sets": joined, "files": len(files)}
            self._audit_row(s, "intake", "submission.volumes_joined", row.unit_name, detail)
            return True

    def get(self, submission_id: int) -> SubmissionRecord | None:
        with self._session() as s:
            return s.get(SubmissionRecord, submission_id)

    def for_raw(self, raw_message_id: int) -> SubmissionRecord | None:
        with self._session() as s:
            return s.exec(select(SubmissionRecord).where(SubmissionRecord.raw_message_id == raw_message_id)).first()

    def of_unit(self, unit_name: str, *, include_voided: bool = False) -> list[SubmissionRecord]:
        """A unit's submissions in arrival order (what the dossier merge replays). One the office
        voided is left out unless `include_voided`: the dossier, its numbering by position and
        everything read from it are built without it. It keeps its `unit_index` all the same, so
        "长春-03" stays the voided mail's and the unit's next one is never given that number again."""
        with self._session() as s:
            query = select(SubmissionRecord).where(SubmissionRecord.unit_name == unit_name)
            if not include_voided:
                query = query.where(SubmissionRecord.voided_at.is_(None))  # type: ignore[union-attr]
            return list(s.exec(query.order_by(SubmissionRecord.arrived_at, SubmissionRecord.id)).all())

    def of_units(self, unit_names: Iterable[str]) -> dict[str, list[SubmissionRecord]]:
        """`of_unit` (voided ones left out) of several units, a query per 500 units instead of one
        per unit: the roster places every unit's files."""
        names = sorted(set(unit_names))
        found: dict[str, list[SubmissionRecord]] = {name: [] for name in names}
        for start in range(0, len(names), 500):
            with self._read_session() as s:
                query = select(SubmissionRecord).where(
                    SubmissionRecord.unit_name.in_(names[start : start + 500]),  # type: ignore[union-attr]
                    SubmissionRecord.voided_at.is_(None),  # type: ignore[union-attr]
                )
                for row in s.exec(query.order_by(SubmissionRecord.arrived_at, SubmissionRecord.id)).all():
                    found[str(row.unit_name)].append(row)
        return found

    def voided_of(self, unit_name: str, *, since: dt.datetime | None = None) -> list[SubmissionRecord]:
        """The unit's submissions the office voided, in the order they were voided; with `since`,
        only those voided after it (what a receipt reports: the voids since the unit's last one)."""
        with self._read_session() as s:
            query = select(SubmissionRecord).where(
                SubmissionRecord.unit_name == unit_name,
                SubmissionRecord.voided_at.is_not(None),  # type: ignore[union-attr]
            )
            if since is not None:
                query = query.where(SubmissionRecord.voided_at > since)  # type: ignore[operator]
            return list(s.exec(query.order_by(SubmissionRecord.voided_at, SubmissionRecord.id)).all())

    def void(self, submission_id: int, *, actor: str, reason: str) -> SubmissionRecord:
        """The office voids (作废) a submission: it no longer counts for its unit's dossier (see
        `of_unit`). Nothing is deleted: the row, its files and the raw mail stay, with who voided it,
        when and why; the audit row is written in the same transaction. Checked and set at once
        (the row is locked): of two clerks voiding the same mail, the second gets a ValueError, as
        does voiding without a reason. A KeyError for an unknown submission."""
        reason = reason.strip()
        if not reason:
            raise ValueError("请填写作废原因（将告知报送单位）")
        with self._session() as s:
            row = s.exec(select(SubmissionRecord).where(SubmissionRecord.id == submission_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no submission {submission_id}")
            if row.voided_at is not None:
                raise ValueError(f"报送 #{submission_id} 已由 {row.voided_by} 作废，无需重复操作")
            row.voided_at, row.voided_by, row.void_reason = utcnow(), actor, reason
            s.add(row)
            detail = {
                "submission_id": submission_id,
                "raw_id": row.raw_message_id,
                "unit_index": row.unit_index,
                "reason": reason,
            }
            self._audit_row(s, actor, "submission.voided", row.unit_name, detail)
            return row

    def unvoid(self, submission_id: int, *, actor: str) -> SubmissionRecord:
        """Take a void back (a clerk voided the wrong mail): the submission counts again, under its
        own number. Audited with what the void was; a ValueError when it is not voided."""
        with self._session() as s:
            row = s.exec(select(SubmissionRecord).where(SubmissionRecord.id == submission_id).with_for_update()).first()
            if row is None:
                raise KeyError(f"no submission {submission_id}")
            if row.voided_at is None:
                raise ValueError(f"报送 #{submission_id} 没有作废，无需恢复")
            detail = {
                "submission_id": submission_id,
                "raw_id": row.raw_message_id,
                "voided_by": row.voided_by,
                "reason": row.void_reason,
            }
            row.voided_at = row.voided_by = row.void_reason = None
            s.add(row)
            self._audit_row(s, actor, "submission.unvoided", row.unit_name, detail)
            return row

    def waiting(self) -> list[SubmissionRecord]:
        """The 待确认 queue: mails of unknown senders no unit is assigned yet and the office has not
        rejected (nor voided), oldest first."""
        with self._read_session() as s:
            query = select(SubmissionRecord).where(
                SubmissionRecord.unit_name.is_(None),  # type: ignore[union-attr]
                SubmissionRecord.rejected_at.is_(None),  # type: ignore[union-attr]
                SubmissionRecord.voided_at.is_(None),  # type: ignore[union-attr]
            )
            return list(s.exec(query.order_by(SubmissionRecord.arrived_at, SubmissionRecord.id)).all())

    def waiting_mails(self, *, with_files: bool = True) -> list[WaitingMail]:
        """The 待确认 queue as the office reads it (dashboard, digest, status, bot): who sent what,
        which unit it is guessed to be from, and what the sender said of herself.

        One sender is one guess, for all her waiting mails: the office confirms her once (the desk
        takes all her mails with her), so her mails are counted against the unit her card proposes,
        never one against 长春 and the next against 吉林. That guess is the unit she last named when
        she named exactly one (`claim.certain`: "长春或吉林" is no answer), else the desk's newest
        guess from her mails, as in the office's notice. A mail with no sender stands alone.
        Without `with_files` the mails' file lists stay empty (a count need not read them)."""
        rows = self.waiting()
        files = self.files_of([row.id for row in rows if row.id is not None]) if with_files else {}
        with self._read_session() as s:
            raw_ids = [row.raw_message_id for row in rows]
            query = select(RawMessageRecord).where(RawMessageRecord.id.in_(raw_ids))  # type: ignore[union-attr]
            raws = {r.id: r for r in s.exec(query)}
        mails = []
        for row in rows:
            raw = raws.get(row.raw_message_id)
            summary = row.summary or {}
            submission = summary.get("submission") or {}
            claim = summary.get("claim") or {}
            certain = bool(claim.get("certain"))
            mails.append(
                WaitingMail(
                    submission_id=row.id or 0,
                    raw_id=row.raw_message_id,
                    sender=sender_address(row, raw.sender if raw else None),
                    sender_name=submission.get("sender_name") or "",
                    wecom_user=wecom_user_of(raw) if raw else None,
                    subject=(raw.subject if raw else None) or submission.get("subject") or "",
                    arrived_at=row.arrived_at,
                    guess=(claim.get("unit") if certain else None) or summary.get("unit_guess"),
                    mail_guess=summary.get("unit_guess"),
                    claim_unit=claim.get("unit"),
                    claim_certain=certain,
                    claim_name=claim.get("name"),
                    claim_phone=claim.get("phone"),
                    files=[f.path for f in files.get(row.id or 0, [])],
                    held_unit=row.held_unit,
                    held_reason=row.held_reason,
                )
            )
        claimed: dict[str, str] = {}
        guessed: dict[str, str] = {}
        # A held mail (its registered sender failed authentication) stands alone: its unit is the
        # one its sender is registered to, and it neither gives nor takes another mail's guess.
        unknown = [mail for mail in mails if mail.held_unit is None]
        for mail in unknown:  # oldest first: her later mail's answer overrides an earlier one's
            if mail.sender and mail.claim_certain and mail.claim_unit:
                claimed[mail.sender] = mail.claim_unit
            if mail.sender and mail.mail_guess:
                guessed[mail.sender] = mail.mail_guess
        for mail in unknown:
            if mail.sender:
                mail.guess = claimed.get(mail.sender) or guessed.get(mail.sender)
        for mail in mails:
            if mail.held_unit is not None:
                mail.guess = mail.held_unit
        return mails

    def waiting_by_unit(self) -> Counter[str | None]:
        """The 待确认 queue counted by guessed unit (None: no guess), each sender's mails all
        against her one guess; see `waiting_mails`."""
        return waiting_by_unit(self.waiting_mails(with_files=False))  # asked at every bot status answer

    def reject(self, submission_id: int, *, actor: str, reason: str = "") -> SubmissionRecord:
        """The office says a waiting mail is not a submission: it leaves the queue (kept, audited)."""
        with self._session() as s:
            row = s.get(SubmissionRecord, submission_id)
            if row is None:
                raise KeyError(f"no submission {submission_id}")
            if row.unit_name is not None:
                raise ValueError(f"submission {submission_id} already belongs to {row.unit_name}")
            if row.rejected_at is None:
                row.rejected_at, row.rejected_by = utcnow(), actor
                s.add(row)
                detail = {"submission_id": submission_id, "reason": reason}
                self._audit_row(s, actor, "submission.rejected", None, detail)
            return row

    def files_of(self, submission_ids: list[int]) -> dict[int, list[FileRecord]]:
        """The stored files of several submissions at once, by submission id."""
        found: dict[int, list[FileRecord]] = {i: [] for i in submission_ids}
        if not submission_ids:
            return found
        with self._session() as s:
            query = select(FileRecord).where(FileRecord.submission_id.in_(submission_ids)).order_by(FileRecord.id)
            for record in s.exec(query).all():
                found[record.submission_id].append(record)
        return found

    def files(self, submission_id: int) -> list[FileRecord]:
        with self._session() as s:
            query = select(FileRecord).where(FileRecord.submission_id == submission_id).order_by(FileRecord.id)
            return list(s.exec(query).all())
