"""Registration tables (附表2 / 附表4) merged by nominee across a unit's submissions.

RULES.md "Resubmissions": a later table updates the rows it lists and withdraws nobody; a
registered nominee it leaves out stays nominated and is marked (REGISTER_OMITS); a withdrawn
nominee it lists again stays withdrawn until the office restores it. The merged table the
checks read is the latest one, holding every registered nominee's latest row.
"""

from __future__ import annotations

from collections.abc import Callable

from config.campaign import Campaign
from intake.attribution import PROJECT, STAR, Owner, Owners, register_rows
from intake.models import (
    Change,
    ChangeAction,
    FileKind,
    Outcome,
    Placement,
    RegisterTable,
    Submission,
    SubmissionLog,
)

ExemplarMark = Callable[[str | None, Campaign], bool]


class RegisterMerge:
    """The tables of every submission so far, applied in order to the unit's nominees."""

    def __init__(self, owners: Owners, campaign: Campaign, exemplar_mark: ExemplarMark) -> None:
        self.owners = owners
        self.campaign = campaign
        self.exemplar_mark = exemplar_mark
        self.tables: dict[FileKind, RegisterTable] = {}  # the latest table of each kind

    def apply(self, sub: Submission, log: SubmissionLog) -> None:
        """This submission's tables: the rows they list updated, the registered nominees they leave out marked."""
        for kind in (FileKind.REGISTER_STARS, FileKind.REGISTER_PROJECTS):
            tables = [t for t in sub.registers if t.kind == kind]
            if not tables:
                continue
            for table in tables:
                log.placements.append(Placement(path=table.path, outcome=Outcome.REGISTER))
            table = _join_tables(tables)
            self.tables[kind] = table
            star = kind == FileKind.REGISTER_STARS
            listed: dict[int, Owner] = {}
            for row in register_rows(table):
                owner = self.owners.find(row.name, star=star)
                if owner is None:
                    continue
                if owner.withdrawn is not None:  # stays withdrawn until the office restores it
                    log.changes.append(
                        Change(action=ChangeAction.WITHDRAWN_LISTED, nominee=owner.entry.name, nominee_kind=owner.kind)
                    )
                    continue
                if id(owner) in listed:  # the same name twice in one table: DUPLICATE_NOMINEE
                    owner.extra_rows.append(row)
                    continue
                listed[id(owner)] = owner
                owner.extra_rows = []
                entry = owner.entry
                if entry.registered and entry.row is not None and entry.row != row:
                    log.changes.append(
                        Change(action=ChangeAction.ROW_UPDATED, nominee=entry.name, nominee_kind=owner.kind)
                    )
                entry.row = row  # type: ignore[assignment]
                entry.registered = True
                entry.exemplar = self.exemplar_mark(row.remarks, self.campaign)
                entry.omitted_by = None
                owner.introduce(log)
            omitted = [
                o
                for o in self.owners
                if o.is_star == star and o.entry.registered and o.withdrawn is None and id(o) not in listed
            ]
            for owner in omitted:
                owner.entry.omitted_by = table.path
            if omitted:
                log.changes.append(
                    Change(
                        action=ChangeAction.OMITTED,
                        nominee_kind=STAR if star else PROJECT,
                        names=[o.entry.name for o in omitted],
                    )
                )

    def merged(self, kind: FileKind) -> RegisterTable | None:
        """The latest table of the kind, holding every registered nominee's latest row."""
        latest = self.tables.get(kind)
        if latest is None:
            return None
        star = kind == FileKind.REGISTER_STARS
        rows = []
        for owner in self.owners:
            if owner.is_star == star and owner.entry.registered and owner.withdrawn is None:
                rows += [owner.entry.row, *owner.extra_rows]
        table = latest.model_copy()
        if star:
            table.star_rows = rows
        else:
            table.project_rows = rows
        return table


def _join_tables(tables: list[RegisterTable]) -> RegisterTable:
    """Several tables of one kind in one submission are one table (rows of later ones appended)."""
    merged = tables[0].model_copy(deep=True)
    for extra in tables[1:]:
        merged.star_rows += extra.star_rows
        merged.project_rows += extra.project_rows
    return merged
