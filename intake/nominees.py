"""A dossier's nominees as the store keeps them, and which nominees of other units are the same.

Two units may nominate the same person or project; the desk tells both. The same star is the
same ID number, else the same name, birth month and phone; the same project is the same name.
Numbers are hashed under the store's secret key, so the policy asks the store (`NomineeIndex`)
to hash and to look; it holds no SQL itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field

from intake.models import Dossier


class NomineeIn(BaseModel):
    """A nominee as an evaluation found it; numbers are hashed by the store, never kept."""

    kind: str  # star, project
    name: str
    exemplar: bool = False
    id_number: str | None = None
    birth_month: str | None = None  # YYYY-MM
    phone: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)  # display only: no ID or phone numbers


class NomineeIndex(Protocol):
    """The store's nominees of all units (`storage.evaluations.EvaluationRepo`)."""

    def id_hash(self, id_number: str | None) -> str | None: ...

    def person_key(self, name: str | None, birth_month: str | None, phone: str | None) -> str | None: ...

    def find_nominee_elsewhere(
        self,
        unit_name: str,
        *,
        kind: str | None = None,
        id_hash: str | None = None,
        person_key: str | None = None,
        name: str | None = None,
    ) -> list[Any]: ...


def _pick(sources: list[Any], attr: str) -> Any:
    """The first filled value of `attr` among a nominee's sources (its table row, then its form)."""
    return next((getattr(f, attr) for f in sources if getattr(f, attr)), None)


def nominees_from_dossier(dossier: Dossier) -> list[NomineeIn]:
    """The dossier's stars and projects as nominees (numbers kept only long enough to hash)."""
    result: list[NomineeIn] = []
    for star in dossier.stars:
        sources = [f for f in (star.row, star.form.fields if star.form else None) if f is not None]
        birth = _pick(sources, "birth_parsed")
        result.append(
            NomineeIn(
                kind="star",
                name=star.name,
                exemplar=star.exemplar,
                id_number=_pick(sources, "id_number"),
                birth_month=f"{birth.year:04d}-{birth.month:02d}" if birth and birth.month else None,
                phone=_pick(sources, "phone"),
                fields={
                    "registered": star.registered,
                    "group": _pick(sources, "group"),
                    "employer_title": _pick(sources, "employer_title"),
                    "gender": _pick(sources, "gender"),
                },
            )
        )
    for project in dossier.projects:
        sources = [f for f in (project.row, project.form.fields if project.form else None) if f is not None]
        result.append(
            NomineeIn(
                kind="project",
                name=project.name,
                exemplar=project.exemplar,
                fields={
                    "registered": project.registered,
                    "organizer": _pick(sources, "organizer"),
                    "category": _pick(sources, "category"),
                    "leader": _pick(sources, "leader"),
                },
            )
        )
    return result


def cross_unit_duplicates(unit_name: str, dossier: Dossier, index: NomineeIndex) -> dict[str, list[str]]:
    """For `Dossier.other_unit_nominees`: nominee name -> the other units that nominate the same
    person (ID number, else name + birth month + phone) or the same project (by name)."""
    found: dict[str, list[str]] = {}
    for n in nominees_from_dossier(dossier):
        if n.kind == "star":
            h = index.id_hash(n.id_number)
            others = index.find_nominee_elsewhere(
                unit_name,
                kind="star",
                id_hash=h,
                person_key=None if h else index.person_key(n.name, n.birth_month, n.phone),
            )
        else:
            others = index.find_nominee_elsewhere(unit_name, kind="project", name=n.name)
        units = sorted({o.unit_name for o in others})
        if units:
            found[n.name] = units
    return found
