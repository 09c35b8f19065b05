"""Exports for the expert review: the roster (.xlsx, a sheet for stars and one for projects)
and the materials as a clean folder tree (unit / 百姓学习之星 / name / files)."""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from intake.models import Dossier, ProjectEntry, StarEntry
from schedule.digest import FILLS
from schedule.status import UnitState, UnitStatus
from storage.repo import Store
from validators.base import Finding, Severity, render

STARS_DIR = "百姓学习之星"
PROJECTS_DIR = "终身学习品牌项目"
REGISTERS_DIR = "登记表"
STAR_COLUMNS = [
    ("姓名", "name"),
    ("性别", "gender"),
    ("出生年月", "birth"),
    ("民族", "ethnicity"),
    ("政治面貌", "politics"),
    ("学历", "education"),
    ("工作单位及职务", "employer_title"),
    ("所属群体", "group"),
    ("联系电话", "phone"),
    ("事迹简介", "intro"),
    ("备注", "remarks"),
]
PROJECT_COLUMNS = [
    ("项目名称", "name"),
    ("申报单位", "organizer"),
    ("项目负责人", "leader"),
    ("联系电话", "phone"),
    ("创建时间", "founded"),
    ("年参与人数", "people_per_year"),
    ("年参与人次", "participations_per_year"),
    ("项目类别", "category"),
    ("项目简介", "intro"),
    ("备注", "remarks"),
]
TAIL = ["推荐单位", "典范", "材料齐全", "问题", "材料路径"]
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe_name(text: str) -> str:
    """A file or folder name that every system accepts: NFKC, no separators or reserved characters."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text or "_"


@dataclass(frozen=True)
class Placed:
    """A file of the materials tree: where it goes (relative) and where its bytes are."""

    target: str
    source: Path


def _entry_files(prefix: str, entry: StarEntry | ProjectEntry) -> list[tuple[str, str]]:
    """(role name, logical path) of a nominee's files, in a stable order."""
    files: list[tuple[str, str]] = []
    if entry.form is not None:
        files.append(("推荐表", entry.form.path))
    if isinstance(entry, ProjectEntry) and entry.summary is not None:
        files.append(("工作总结", entry.summary.path))
    files += [(f"照片{i:02d}", p.path) for i, p in enumerate(entry.photos, start=1)]
    files += [(f"视频{i:02d}", v.path) for i, v in enumerate(entry.videos, start=1)]
    return [(f"{prefix}/{role}_{safe_name(PurePosixPath(path).name)}", path) for role, path in files]


def materials_plan(store: Store, unit: str, dossier: Dossier) -> list[Placed]:
    """Where each of a unit's files goes in the tree; the bytes are the stored ones (later mails win)."""
    by_path: dict[str, Path] = {}
    for sub in store.unit_submissions(unit):
        for f in store.submission_files(sub.id or 0):
            by_path[f.path] = store.file_path(f)
    base = safe_name(unit)
    wanted: list[tuple[str, str]] = []
    for star in dossier.stars:
        wanted += _entry_files(f"{base}/{STARS_DIR}/{safe_name(star.name)}", star)
    for project in dossier.projects:
        wanted += _entry_files(f"{base}/{PROJECTS_DIR}/{safe_name(project.name)}", project)
    for register in (dossier.star_register, dossier.project_register):
        if register is not None:
            wanted.append((f"{base}/{REGISTERS_DIR}/{safe_name(PurePosixPath(register.path).name)}", register.path))
    return [Placed(target, by_path[path]) for target, path in wanted if path in by_path]


def export_materials(store: Store, statuses: list[UnitStatus], directory: Path) -> list[Path]:
    """Copy every unit's current materials into `directory`; returns the files written."""
    written = []
    for status in statuses:
        if status.dossier is None:
            continue
        for placed in materials_plan(store, status.name, status.dossier):
            target = directory / placed.target
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(placed.source, target)
            written.append(target)
    return written


def _problems(findings: list[Finding], name: str) -> list[Finding]:
    return [f for f in findings if f.nominee == name and f.severity != Severity.INFO]


def _row(status: UnitStatus, entry: StarEntry | ProjectEntry, columns: list[tuple[str, str]], paths: list[str]):
    fields = [f for f in (entry.row, entry.form.fields if entry.form else None) if f is not None]
    values: list[object] = []
    for _, key in columns:
        values.append(next((getattr(f, key) for f in fields if getattr(f, key, None)), None))
    values[0] = values[0] or entry.name
    problems = _problems(status.findings, entry.name)
    errors = [f for f in problems if f.severity == Severity.ERROR]
    values += [
        status.name,
        "是" if entry.exemplar else "",
        "否" if errors else "是",
        "\n".join(("✗ " if f.severity == Severity.ERROR else "! ") + render(f)[0] for f in problems),
        "\n".join(paths),
    ]
    return values, bool(errors)


def roster_xlsx(store: Store | None, statuses: list[UnitStatus]) -> bytes:
    """One sheet for stars, one for projects: a row per nominee with the 附表2/附表4 fields."""
    wb = Workbook()
    sheets = [(wb.active, STARS_DIR, STAR_COLUMNS), (wb.create_sheet(), PROJECTS_DIR, PROJECT_COLUMNS)]
    for ws, title, columns in sheets:
        ws.title = title
        ws.append(["序号", *(label for label, _ in columns), *TAIL])
        for cell in ws[1]:
            cell.font = Font(bold=True)
    counters = [0, 0]
    fills = {
        errors: PatternFill("solid", start_color=c, end_color=c)
        for errors, c in ((True, FILLS[UnitState.INCOMPLETE]), (False, FILLS[UnitState.COMPLETE]))
    }
    for status in statuses:
        if status.dossier is None:
            continue
        placed = materials_plan(store, status.name, status.dossier) if store is not None else []
        for n, (ws, title, columns) in enumerate(sheets):
            entries = status.dossier.stars if n == 0 else status.dossier.projects
            for entry in entries:
                prefix = f"{safe_name(status.name)}/{title}/{safe_name(entry.name)}/"
                paths = [p.target for p in placed if p.target.startswith(prefix)]
                values, has_errors = _row(status, entry, columns, paths)
                counters[n] += 1
                ws.append([counters[n], *values])
                for cell in ws[counters[n] + 1]:  # (ws.max_row scans every cell: quadratic over a roster)
                    cell.fill = fills[has_errors]
    for (ws, _, columns), count in zip(sheets, counters, strict=True):
        ws.freeze_panes = "C2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns) + 1 + len(TAIL))}{count + 1}"
        for i in range(1, len(columns) + len(TAIL) + 2):
            ws.column_dimensions[get_column_letter(i)].width = 16
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
