"""Dossiers, nominees and findings the evaluation and overview tests save."""

from __future__ import annotations

from intake.models import Dossier, ProjectEntry, ProjectFields, StarEntry, StarFields, YearMonth
from validators.base import Finding, Severity

YANBIAN = "延边朝鲜族自治州教育局"
JLU = "吉林大学"
ID_NUMBER = "22240119800101123X"


def star(name: str, id_number: str | None = None, phone: str | None = None, exemplar: bool = False) -> StarEntry:
    row = StarFields(
        name=name,
        id_number=id_number,
        phone=phone,
        birth="1980.01",
        birth_parsed=YearMonth(year=1980, month=1),
        group="社区居民",
    )
    return StarEntry(name=name, registered=True, row=row, exemplar=exemplar)


def project(name: str) -> ProjectEntry:
    return ProjectEntry(name=name, registered=True, row=ProjectFields(name=name, category="社区教育"))


def dossier(unit: str, stars: list[StarEntry], projects: list[ProjectEntry] = ()) -> Dossier:
    return Dossier(unit=unit, unit_known=True, stars=stars, projects=list(projects))


def finding(code: str, severity: Severity, subject: str, **params) -> Finding:
    return Finding(code=code, severity=severity, subject=subject, params=params)
