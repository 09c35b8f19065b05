"""Evaluations: each unit's dossier snapshots (versioned), the findings of each, and its nominees.

A unit's nominees are replaced by its latest evaluation's; ID and phone numbers are kept only
as keyed hashes (`storage.keys`), enough to find the same person nominated by another unit.
Which nominees count as the same one is `intake.nominees.cross_unit_duplicates`; the query it
asks is `find_nominee_elsewhere`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import delete, func, or_, tuple_
from sqlmodel import Session, select

from config.jsonable import to_jsonable
from config.masking import mask_value
from intake.models import Dossier
from intake.nominees import NomineeIn, nominees_from_dossier
from storage import keys
from storage.base import Repo
from storage.tables import DossierSnapshot, FindingRecord, NomineeRecord
from validators.base import Finding, Severity

_IN_BATCH = 500  # units per IN (...) list: well below every database's limit on bound parameters


class EvaluationRepo(Repo):
    def id_hash(self, id_number: str | None) -> str | None:
        return keys.id_hash(self.db.id_key, id_number)

    def person_key(self, name: str | None, birth_month: str | None, phone: str | None) -> str | None:
        return keys.person_key(self.db.id_key, name, birth_month, phone)

    def save(
        self,
        unit_name: str,
        dossier: Dossier | dict[str, Any],
        findings: Iterable[Finding],
        nominees: Iterable[NomineeIn] | None = None,
        *,
        raw_ids: Iterable[int] | None = None,
        check_error: str | None = None,
    ) -> int:
        """Keep one evaluation of a unit (dossier, findings, nominees); returns its version.
        `raw_ids`: the unit's raw messages it merged (what a receipt compares against).
        `check_error`: the rules that raised (masked), when the check did not finish: the unit is
        then 检查未完成 until an evaluation without one.

        Nominees default to those of the dossier. A unit's nominees are replaced by the
        latest evaluation's.
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
                s.add(
                    DossierSnapshot(
                        unit_name=unit_name,
                        version=version,
                        dossier=dossier_json,
                        raw_ids=raw_id_list,
                        check_error=check_error,
                    )
                )
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
                s.exec(delete(NomineeRecord).where(NomineeRecord.unit_name == unit_name))
                for n in nominee_list:
                    s.add(
                        NomineeRecord(
                            unit_name=unit_name,
                            kind=n.kind,
                            name=n.name,
                            name_key=keys.normalise_name(n.name),
                            exemplar=n.exemplar,
                            id_hash=self.id_hash(n.id_number),
                            person_key=self.person_key(n.name, n.birth_month, n.phone),
                            fields=mask_value(n.fields),
                            version=version,
                        )
                    )
                counts = {str(sev): sum(1 for f in findings if f.severity == sev) for sev in Severity}
                incomplete = {"check_error": check_error} if check_error else {}
                self._audit_row(
                    s, "validators", "unit.evaluated", unit_name, {"version": version, **counts, **incomplete}
                )
                return version

        return self._retry_unique(attempt)

    def current_version(self, unit_name: str) -> int | None:
        with self._read_session() as s:
            return s.exec(select(func.max(DossierSnapshot.version)).where(DossierSnapshot.unit_name == unit_name)).one()

    def check_error(self, unit_name: str) -> str | None:
        """Why the unit's latest evaluation did not finish (a rule raised), None when it did."""
        with self._read_session() as s:
            return s.exec(
                select(DossierSnapshot.check_error)
                .where(DossierSnapshot.unit_name == unit_name)
                .order_by(DossierSnapshot.version.desc())
                .limit(1)
            ).first()

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
        return [EvaluationRepo._finding(r) for r in rows]

    @staticmethod
    def _finding(r: FindingRecord) -> Finding:
        return Finding(
            code=r.code,
            severity=Severity(r.severity),
            subject=r.subject,
            nominee=r.nominee,
            item=r.item,
            params=r.params,
            evidence=r.evidence,
        )

    def latest_evaluations(self, unit_names: Collection[str]) -> dict[str, tuple[DossierSnapshot, list[Finding]]]:
        """The latest evaluation (snapshot, findings in the order found) of each of `unit_names` that
        has one, in two queries per batch of units instead of three per unit: the digest and the
        roster read every unit's. The findings are those of the very snapshot read, by its version
        (an evaluation never changes once saved), even when the unit is evaluated again meanwhile."""
        names = sorted(set(unit_names))
        found: dict[str, tuple[DossierSnapshot, list[Finding]]] = {}
        for start in range(0, len(names), _IN_BATCH):
            batch = names[start : start + _IN_BATCH]
            with self._read_session() as s:
                latest = (
                    select(DossierSnapshot.unit_name, func.max(DossierSnapshot.version).label("version"))
                    .where(DossierSnapshot.unit_name.in_(batch))  # type: ignore[attr-defined]
                    .group_by(DossierSnapshot.unit_name)
                    .subquery()
                )
                snapshots = s.exec(
                    select(DossierSnapshot).join(
                        latest,
                        (latest.c.unit_name == DossierSnapshot.unit_name)
                        & (latest.c.version == DossierSnapshot.version),
                    )
                ).all()
                versions = {row.unit_name: row.version for row in snapshots}
                findings: dict[str, list[Finding]] = {name: [] for name in versions}
                pairs = tuple_(FindingRecord.unit_name, FindingRecord.version)
                rows = (
                    s.exec(
                        select(FindingRecord).where(pairs.in_(list(versions.items()))).order_by(FindingRecord.id)
                    ).all()
                    if versions
                    else []
                )
            for r in rows:
                findings[r.unit_name].append(self._finding(r))
            found.update({row.unit_name: (row, findings[row.unit_name]) for row in snapshots})
        return found

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

    def nominees(self, unit_name: str) -> list[NomineeRecord]:
        with self._read_session() as s:
            query = select(NomineeRecord).where(NomineeRecord.unit_name == unit_name)
            return list(s.exec(query.order_by(NomineeRecord.id)).all())

    def find_nominee_elsewhere(
        self,
        unit_name: str,
        *,
        kind: str | None = None,
        id_hash: str | None = None,
        person_key: str | None = None,
        name: str | None = None,
    ) -> list[NomineeRecord]:
        """Nominees of other units with the same ID hash, person key or name."""
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
                or_(*conditions),
            )
            if kind:
                query = query.where(NomineeRecord.kind == kind)
            return list(s.exec(query.order_by(NomineeRecord.unit_name, NomineeRecord.id)).all())
