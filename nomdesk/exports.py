"""Exports for the expert review: the roster (.xlsx, a sheet for stars, one for projects, one for
the problems of a unit that are on no nominee) and the materials as a clean folder tree
(unit / 百姓学习之星 / name / files).

Folder and file names are made unique (compared without case, as Windows and macOS do), so two
nominees whose names come out the same once made safe for a file system never share a folder
("王芳", "王芳_2"). Exporting into a folder that holds an earlier export replaces that export,
and only that: see `export_materials`.

The roster's dates and head counts are real dates and numbers (nomdesk.roster_values), and its
材料路径 (the nominee's folder) and 材料1…N (a file each) are links relative to the tree's root:
the export writes the roster there (ROSTER_FILE), so the links open the exported files; a roster
saved elsewhere (`export roster`) links to the same places beside wherever it is put.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from config.gc_pause import paused_gc
from intake.models import ITEM_FORM, Dossier, ProjectEntry, StarEntry
from intake.sheet_cells import put, safe_row
from intake.sheet_layout import fill_cells, finish_sheet, put_link
from nomdesk.roster_values import NOTE_SUFFIX, PARSED, typed
from schedule.digest import FILLS
from schedule.status import UnitState, UnitStatus
from storage.repo import Store
from storage.tables import FileRecord, SubmissionRecord
from validators.base import SEVERITY_ORDER, Finding, Severity, label_of, render
from validators.checklist import Row, checklist_rows
from validators.report import is_file_finding

STARS_DIR = "百姓学习之星"
PROJECTS_DIR = "终身学习品牌项目"
REGISTERS_DIR = "登记表"
UNIT_PROBLEMS = "单位问题"
UNIT_PROBLEM_COLUMNS = ["序号", "推荐单位", "涉及", "严重程度", "问题", "修改建议"]
MANIFEST = ".nomdesk-export.json"  # what the last export into a folder wrote there
ROSTER_FILE = "推荐名单.xlsx"  # at the tree's root, beside the unit folders: its links lead into them
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
TAIL = ["推荐表", "推荐单位", "典范", "材料齐全", "问题", "材料路径"]
FILE_COLUMN = "材料{n}"  # after 材料路径 (the nominee's folder): a column per file, each a link to it
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe_name(text: str) -> str:
    """A file or folder name that every system accepts: NFKC, no separators or reserved characters."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text or "_"


def unique(name: str, taken: set[str], *, file: bool = False) -> str:
    """`name`, or `name_2`, `name_3`… (a file's before its extension) when it is taken, compared without case."""
    path = PurePosixPath(name)
    stem, suffix = (str(path.with_suffix("")), path.suffix) if file else (name, "")
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}_{n}{suffix}"
    taken.add(candidate.casefold())
    return candidate


def unit_folders(statuses: list[UnitStatus]) -> dict[str, str]:
    """Each unit's folder in the tree (the roster's paths and the export use the same)."""
    taken: set[str] = set()
    return {s.name: unique(safe_name(s.name), taken) for s in statuses if s.dossier is not None}


@dataclass(frozen=True)
class Placed:
    """A file of the materials tree: where it goes (relative), the stored file, and whose it is
    ((sheet, index in the dossier's list) of a nominee; None for the registers)."""

    target: str
    file: FileRecord
    store: Store = field(compare=False, repr=False)
    nominee: tuple[str, int] | None = None

    @property
    def source(self) -> Path:
        """Where its bytes are on this machine: asked only when they are copied, since from an
        object store that fetches them (the roster's links need the targets alone)."""
        return self.store.submissions.file_path(self.file)


def _entry_files(prefix: str, entry: StarEntry | ProjectEntry) -> list[tuple[str, str]]:
    """(role name, logical path) of a nominee's files, in a stable order."""
    files: list[tuple[str, str]] = []
    if entry.form is not None:
        files.append(("推荐表", entry.form.path))
    # the stamped scans beside it (the signed and stamped page the experts may want to see)
    scans = [p for p in entry.scans if entry.form is None or p != entry.form.path]
    files += [("盖章扫描件" + (f"{i:02d}" if len(scans) > 1 else ""), p) for i, p in enumerate(scans, start=1)]
    if isinstance(entry, ProjectEntry) and entry.summary is not None:
        files.append(("工作总结", entry.summary.path))
    files += [(f"照片{i:02d}", p.path) for i, p in enumerate(entry.photos, start=1)]
    files += [(f"视频{i:02d}", v.path) for i, v in enumerate(entry.videos, start=1)]
    return [(f"{prefix}/{role}_{safe_name(PurePosixPath(path).name)}", path) for role, path in files]


def _stored_files(store: Store, submissions: dict[str, list[SubmissionRecord]]) -> dict[str, dict[str, FileRecord]]:
    """Per unit, its stored file at each logical path (a later mail's wins), from its submissions
    in arrival order: the files of every unit's submissions read at once."""
    ids = [row.id for rows in submissions.values() for row in rows if row.id is not None]
    stored: dict[int, list[FileRecord]] = {}
    for start in range(0, len(ids), 500):
        stored.update(store.submissions.files_of(ids[start : start + 500]))
    return {
        unit: {f.path: f for row in rows for f in stored.get(row.id or 0, [])} for unit, rows in submissions.items()
    }


def materials_plan(
    store: Store, unit: str, dossier: Dossier, base: str | None = None, *, files: dict[str, FileRecord] | None = None
) -> list[Placed]:
    """Where each of a unit's files goes in the tree (under `base`, the unit's folder); the bytes
    are the stored ones (later mails win). `files`: the unit's stored files by path, when the
    caller read every unit's at once (`unit_plans`)."""
    by_path = files if files is not None else _stored_files(store, {unit: store.submissions.of_unit(unit)})[unit]
    base = base or safe_name(unit)
    wanted: list[tuple[str, str, tuple[str, int] | None]] = []
    for title, entries in ((STARS_DIR, dossier.stars), (PROJECTS_DIR, dossier.projects)):
        folders: set[str] = set()
        for i, entry in enumerate(entries):
            folder = unique(safe_name(entry.name), folders)
            wanted += [(target, path, (title, i)) for target, path in _entry_files(f"{base}/{title}/{folder}", entry)]
    for register in (dossier.star_register, dossier.project_register):
        if register is not None:
            wanted.append(
                (f"{base}/{REGISTERS_DIR}/{safe_name(PurePosixPath(register.path).name)}", register.path, None)
            )
    taken: set[str] = set()
    return [
        Placed(unique(target, taken, file=True), by_path[path], store, owner)
        for target, path, owner in wanted
        if path in by_path
    ]


def unit_plans(store: Store | None, statuses: list[UnitStatus]) -> dict[str, list[Placed]]:
    """Each unit's `materials_plan` under its folder (`unit_folders`), made once for an export and
    its roster; none without a store (a roster of the readings alone)."""
    folders = unit_folders(statuses)
    with_dossier = [s for s in statuses if s.dossier is not None]
    if store is None:
        return {s.name: [] for s in with_dossier}
    files = _stored_files(store, store.submissions.of_units(s.name for s in with_dossier))
    return {
        s.name: materials_plan(store, s.name, s.dossier, folders[s.name], files=files[s.name])  # type: ignore[arg-type]
        for s in with_dossier
    }


def export_materials(store: Store, statuses: list[UnitStatus], directory: Path) -> list[Path]:
    """Copy every unit's current materials into `directory`; returns the files written.

    Exporting again into the same folder replaces the earlier export: the files it wrote (listed
    in the folder's MANIFEST) that this one does not write again are removed, with the folders
    left empty; anything else in the folder (notes the office put there, say) is left alone. The
    manifest lists every file this export may write before the first is copied, so an
    interrupted export is cleared by the next one too.
    """
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / MANIFEST
    earlier = _read_manifest(manifest)
    plans = unit_plans(store, statuses)
    plan = [placed for unit_plan in plans.values() for placed in unit_plan]
    targets = {p.target for p in plan} | {ROSTER_FILE}
    manifest.write_text(json.dumps(sorted(earlier | targets), ensure_ascii=False), encoding="utf-8")
    for target in sorted(earlier - targets):
        _remove(directory, target)
    written = []
    for placed in plan:
        target = directory / placed.target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(placed.source, target)
        written.append(target)
    # The roster beside the unit folders, so its 材料路径 links open the files of this very tree.
    (directory / ROSTER_FILE).write_bytes(roster_xlsx(store, statuses, plans=plans))
    written.append(directory / ROSTER_FILE)
    manifest.write_text(json.dumps(sorted(targets), ensure_ascii=False), encoding="utf-8")
    return written


def _read_manifest(manifest: Path) -> set[str]:
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {p for p in listed if isinstance(p, str)} if isinstance(listed, list) else set()


def _remove(directory: Path, target: str) -> None:
    """Delete a file an earlier export wrote, and the folders it leaves empty; never outside `directory`."""
    root = directory.resolve()
    path = (directory / target).resolve()
    if PurePosixPath(target).is_absolute() or ".." in PurePosixPath(target).parts or not path.is_relative_to(root):
        return
    path.unlink(missing_ok=True)
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:
            break  # not empty: something else lives there


def _problems(findings: list[Finding], name: str) -> list[Finding]:
    return [f for f in findings if f.nominee == name and f.severity != Severity.INFO]


def header(columns: list[tuple[str, str]]) -> list[str]:
    """序号, the fields (a date or count followed by its 原文 note), the tail; the file columns follow."""
    labels = [[label, label + NOTE_SUFFIX] if key in PARSED else [label] for label, key in columns]
    return ["序号", *(label for pair in labels for label in pair), *TAIL]


@dataclass
class RosterRow:
    """A nominee's row: its values after 序号, the number formats of its date cells and the links
    of its material cells (by position in `values`), and whether the nominee has open errors."""

    values: list[object]
    formats: dict[int, str]
    links: dict[int, str]
    has_errors: bool


def _row(
    status: UnitStatus,
    entry: StarEntry | ProjectEntry,
    columns: list[tuple[str, str]],
    paths: list[str],
    checklist: Row,
) -> RosterRow:
    fields = [f for f in (entry.row, entry.form.fields if entry.form else None) if f is not None]
    values: list[object] = []
    formats: dict[int, str] = {}
    for _, key in columns:
        source = next((f for f in fields if getattr(f, key, None)), None)
        written = getattr(source, key) if source is not None else None
        if key not in PARSED:
            values.append(written)
            continue
        source = source or next((f for f in fields if getattr(f, PARSED[key], None) is not None), None)
        cell = typed(key, written, getattr(source, PARSED[key]) if source is not None else None)
        if cell.number_format:
            formats[len(values)] = cell.number_format
        values += [cell.value, cell.note]
    values[0] = values[0] or entry.name
    problems = _problems(status.findings, entry.name)
    form = next(i for i in checklist.items if i.item == ITEM_FORM)
    values += [
        # as the reply's checklist words it ("推荐表 扫描件（自动识别）✓", "推荐表✓，盖章扫描件✓")
        form.received if status.check_error else str(form),
        status.name,
        "是" if entry.exemplar else "",
        # the checklist row's mark, as the reply shows it; none when a rule raised (never a pass)
        "检查未完成" if status.check_error else "是" if checklist.complete else "否",
        "\n".join(("✗ " if f.severity == Severity.ERROR else "! ") + render(f)[0] for f in problems),
    ]
    folder = str(PurePosixPath(paths[0]).parent) if paths else None
    links = {len(values): folder} if folder else {}
    values.append(folder)
    for path in paths:
        links[len(values)] = path
        values.append(PurePosixPath(path).name)
    return RosterRow(values, formats, links, not checklist.complete)


def unit_problems(status: UnitStatus) -> list[Finding]:
    """A unit's open findings that are on no nominee's row: the unit's own, the files', and any
    naming a nominee the dossier spells otherwise. Unit-level first, files last, errors first."""
    assert status.dossier is not None
    names = {e.name for e in (*status.dossier.stars, *status.dossier.projects)}
    rest = [f for f in status.findings if f.severity != Severity.INFO and f.nominee not in names]
    return sorted(rest, key=lambda f: (is_file_finding(f), SEVERITY_ORDER[f.severity]))


def roster_xlsx(
    store: Store | None, statuses: list[UnitStatus], *, plans: dict[str, list[Placed]] | None = None
) -> bytes:
    """One sheet for stars, one for projects: a row per nominee with the 附表2/附表4 fields; and a
    sheet of the problems that are on no nominee's row, a row per finding."""
    with paused_gc():  # 200,000 cells for 10,000 nominees, none of them garbage
        return _roster_xlsx(store, statuses, plans)


def _roster_xlsx(store: Store | None, statuses: list[UnitStatus], plans: dict[str, list[Placed]] | None) -> bytes:
    wb = Workbook()
    sheets = [(wb.active, STARS_DIR, STAR_COLUMNS), (wb.create_sheet(), PROJECTS_DIR, PROJECT_COLUMNS)]
    for ws, title, columns in sheets:
        ws.title = title
        safe_row(ws, header(columns))
    unit_ws = wb.create_sheet(UNIT_PROBLEMS)
    safe_row(unit_ws, UNIT_PROBLEM_COLUMNS)
    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
    counters = [0, 0]
    most_files = [0, 0]
    fills = {
        errors: PatternFill("solid", start_color=c, end_color=c)
        for errors, c in ((True, FILLS[UnitState.INCOMPLETE]), (False, FILLS[UnitState.COMPLETE]))
    }
    plans = unit_plans(store, statuses) if plans is None else plans  # an export's own, when it has them
    problems = 0
    for status in statuses:
        if status.dossier is None:
            continue
        placed = plans.get(status.name, [])
        rows = checklist_rows(status.dossier, status.findings)  # a row per star, then per project
        for n, (ws, title, columns) in enumerate(sheets):
            entries = status.dossier.stars if n == 0 else status.dossier.projects
            offset = 0 if n == 0 else len(status.dossier.stars)
            for i, entry in enumerate(entries):
                paths = [p.target for p in placed if p.nominee == (title, i)]
                row = _row(status, entry, columns, paths, rows[offset + i])
                counters[n] += 1
                most_files[n] = max(most_files[n], len(paths))
                # What the unit wrote (a name, a remark, its own unit line) is data, never a formula.
                cells = safe_row(ws, [counters[n], *row.values])
                fill_cells(cells, fills[row.has_errors])
                for i_value, number_format in row.formats.items():
                    cells[1 + i_value].number_format = number_format
                for i_value, target in row.links.items():
                    put_link(cells[1 + i_value], target)  # relative, inside the exported tree
        for f in unit_problems(status):
            message, hint = render(f)
            problems += 1
            # A subject or message quotes the unit: data, never a formula.
            cells = safe_row(unit_ws, [problems, status.name, f.subject, label_of(f), message, hint])
            if f.severity == Severity.ERROR:
                fill_cells(cells, fills[True])
    for (ws, _, columns), files in zip(sheets, most_files, strict=True):
        first = len(header(columns)) + 1
        for k in range(files):
            put(ws, 1, first + k, FILE_COLUMN.format(n=k + 1)).font = Font(bold=True)
    for ws in wb.worksheets:
        finish_sheet(ws, freeze="C2")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
