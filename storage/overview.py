"""The campaign at a glance: per unit, what it sent, its nominees, its latest findings, paper.

Asked for at every office question and page view, so the result is kept and recomputed only
when something was written since (see `units`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from storage.base import Database, Repo, aware
from storage.models import UnitOverview
from storage.tables import (
    AuditLog,
    DossierSnapshot,
    FindingRecord,
    NomineeRecord,
    PaperReceipt,
    SubmissionRecord,
    UnitRecord,
)
from validators.base import Severity

LATE_CODE = "LATE"  # the finding of a submission after the deadline (validators' rule code)


class OverviewRepo(Repo):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._cached: tuple[tuple[Any, ...], list[UnitOverview]] | None = None

    def forget(self) -> None:
        """Drop the kept result (the units themselves changed)."""
        self._cached = None

    def units(self) -> list[UnitOverview]:
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
        cached = self._cached
        if cached is not None and cached[0] == marker:
            return [row.model_copy() for row in cached[1]]
        result = self._compute()
        self._cached = (marker, result)
        return [row.model_copy() for row in result]

    def _compute(self) -> list[UnitOverview]:
        with self._read_session() as s:
            units = s.exec(select(UnitRecord).where(UnitRecord.active).order_by(UnitRecord.position)).all()
            subs = {
                name: (count, last)
                for name, count, last in s.exec(
                    select(SubmissionRecord.unit_name, func.count(), func.max(SubmissionRecord.arrived_at))
                    .where(SubmissionRecord.unit_name.is_not(None))
                    .where(SubmissionRecord.voided_at.is_(None))  # a voided mail counts for nothing
                    .group_by(SubmissionRecord.unit_name)
                ).all()
            }
            nominees: dict[tuple[str, str], int] = {
                (name, kind): count
                for name, kind, count in s.exec(
                    select(NomineeRecord.unit_name, NomineeRecord.kind, func.count()).group_by(
                        NomineeRecord.unit_name, NomineeRecord.kind
                    )
                ).all()
            }
            latest = (
                select(DossierSnapshot.unit_name, func.max(DossierSnapshot.version).label("version"))
                .group_by(DossierSnapshot.unit_name)
                .subquery()
            )
            versions = {name: version for name, version in s.exec(select(latest.c.unit_name, latest.c.version)).all()}
            check_errors: dict[str, str] = {
                name: error
                for name, error in s.exec(
                    select(DossierSnapshot.unit_name, DossierSnapshot.check_error).join(
                        latest,
                        (latest.c.unit_name == DossierSnapshot.unit_name)
                        & (latest.c.version == DossierSnapshot.version),
                    )
                ).all()
                if error
            }
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
            late = set(
                s.exec(
                    select(FindingRecord.unit_name)
                    .join(
                        latest,
                        (latest.c.unit_name == FindingRecord.unit_name) & (latest.c.version == FindingRecord.version),
                    )
                    .where(FindingRecord.code == LATE_CODE)
                    .distinct()
                ).all()
            )
            exemplars: dict[tuple[str, str], int] = {
                (name, kind): count
                for name, kind, count in s.exec(
                    select(NomineeRecord.unit_name, NomineeRecord.kind, func.count())
                    .where(NomineeRecord.exemplar)
                    .group_by(NomineeRecord.unit_name, NomineeRecord.kind)
                ).all()
            }

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
                    last_arrival=aware(last),
                    stars=nominees.get((name, "star"), 0),
                    projects=nominees.get((name, "project"), 0),
                    errors=severities.get((name, Severity.ERROR.value), 0),
                    warnings=severities.get((name, Severity.WARNING.value), 0),
                    infos=severities.get((name, Severity.INFO.value), 0),
                    evaluated_version=versions.get(name),
                    paper_received=name in paper,
                    check_error=check_errors.get(name),
                    late=name in late,
                    exemplar_stars=exemplars.get((name, "star"), 0),
                    exemplar_projects=exemplars.get((name, "project"), 0),
                )
            )
        return result
