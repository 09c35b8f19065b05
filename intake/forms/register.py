"""附表2 / 附表4: the registration tables, found by their header labels wherever they sit.

A sheet is a register when one row (or two, for merged "基本情况"/"参与规模" headers) holds
enough of the field labels, the name among them. Rows are read below the header until
the data ends; blank rows, total rows, footers and rows without a name are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from intake.forms.fields import (
    PROJECT_FIELDS,
    PROJECT_REGISTER_TITLE,
    REQUIRED_GROUPS,
    STAR_FIELDS,
    STAR_REGISTER_TITLE,
    FieldSpec,
    label_index,
    normalise_label,
)
from intake.forms.grid import Grid, is_blank
from intake.forms.values import cell_text, parse_count, parse_year_month
from intake.models import FileKind, ProjectFields, RegisterTable, StarFields

HEADER_SCAN_ROWS = 30
MIN_HEADER_FIELDS = 3  # the name plus at least two more labels
UNIT_LINE = re.compile(r"推荐单位\s*(?:[（(][^）)]*[）)])?\s*[:：]\s*(.*)", re.S)
UNIT_LINE_END = re.compile(r"(填表日期|填报日期|日期|填表时间|时间)\s*[:：].*$", re.S)
SEQ_LABELS = ("序号", "编号", "序")
FOOTER_WORDS = ("填表人", "联系人", "审核人", "制表人", "经办人", "负责人签字", "注：", "注:", "说明：", "说明:")
TOTAL_WORDS = ("合计", "总计", "小计", "共计")
_NAME_KEY = "name"


@dataclass
class Header:
    kind: FileKind
    specs: tuple[FieldSpec, ...]
    row: int  # first header row
    data_start: int
    columns: dict[str, int] = field(default_factory=dict)  # field key -> column
    seq_column: int | None = None  # the 序号 column, where a total row writes "合计"


def _match_label(text: Any, index: dict[str, FieldSpec]) -> FieldSpec | None:
    """The field a header cell names: exact label or alias first, else the longest label it starts with."""
    if is_blank(text) or not isinstance(text, str):
        return None
    label = normalise_label(text)
    if not label:
        return None
    if label in index:
        return index[label]
    best: tuple[int, FieldSpec] | None = None
    for known, spec in index.items():
        if len(known) >= 2 and label.startswith(known) and (best is None or len(known) > best[0]):
            best = (len(known), spec)
    return best[1] if best else None


def _columns(grid: Grid, row: int, index: dict[str, FieldSpec], two_rows: bool) -> dict[str, int]:
    """Field key -> column for a header at `row` (and the sub-header row below it)."""
    columns: dict[str, int] = {}
    width = max(len(grid[row]), len(grid[row + 1]) if two_rows and row + 1 < len(grid) else 0)
    for c in range(width):
        candidates = []
        if two_rows and row + 1 < len(grid) and c < len(grid[row + 1]):
            candidates.append(grid[row + 1][c])
        if c < len(grid[row]):
            candidates.append(grid[row][c])
        for text in candidates:
            spec = _match_label(text, index)
            if spec is not None:
                columns.setdefault(spec.key, c)
                break
    return columns


def find_header(grid: Grid) -> Header | None:
    """The best header of either register in the first rows of the grid, or None."""
    best: Header | None = None
    for kind, specs in ((FileKind.REGISTER_STARS, STAR_FIELDS), (FileKind.REGISTER_PROJECTS, PROJECT_FIELDS)):
        index = label_index(specs, register=True)
        for row in range(min(len(grid), HEADER_SCAN_ROWS)):
            single = _columns(grid, row, index, two_rows=False)
            if _NAME_KEY not in single or len(single) < MIN_HEADER_FIELDS:
                continue
            double = _columns(grid, row, index, two_rows=True)
            below = row + 1 < len(grid) and any(_match_label(v, index) for v in grid[row + 1])
            two_rows = below and len(double) > len(single)
            columns = double if two_rows else single
            header = Header(kind, specs, row, row + (2 if two_rows else 1), columns)
            header.seq_column = _seq_column(grid, row, two_rows)
            if best is None or len(columns) > len(best.columns):
                best = header
            break
    return best


def _seq_column(grid: Grid, row: int, two_rows: bool) -> int | None:
    """The column headed 序号 (not a field of the forms, but where "合计" goes in a total row)."""
    for r in (row, row + 1) if two_rows else (row,):
        for c, value in enumerate(grid[r] if r < len(grid) else []):
            if isinstance(value, str) and normalise_label(value) in SEQ_LABELS:
                return c
    return None


def unit_line_of(grid: Grid, above: int) -> str | None:
    """What follows "推荐单位（盖章）：" in the rows above the header ("填表日期…" cut off)."""
    for r in range(min(above, len(grid))):
        row = grid[r]
        for c, value in enumerate(row):
            if not isinstance(value, str):
                continue
            match = UNIT_LINE.search(value)
            if not match:
                continue
            text = clean_unit_line(match[1])
            if not text:
                # "推荐单位（盖章）：" | "延边州教育局": the unit in the next distinct cell
                for nxt in row[c + 1 :]:
                    if isinstance(nxt, str) and nxt != value and not is_blank(nxt):
                        text = clean_unit_line(nxt)
                        break
            return text
    return None


def clean_unit_line(text: str) -> str | None:
    """The unit written after "推荐单位（盖章）：", in a sheet or a Word form alike; None for a blank line."""
    text = UNIT_LINE_END.sub("", text)
    text = re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip()
    if not text or re.fullmatch(r"[_＿\-—\s]*", text):
        return None
    return text


def _cell(row: list[Any], column: int | None) -> str | None:
    return cell_text(row[column]) if column is not None and column < len(row) else None


def _is_footer(row: list[Any], header: Header) -> bool:
    """A footer ("填表人：…", "注：…") below the table: in the first cell used, with no name beside it.

    A remark "注：往年曾推荐" in the 备注 column of a nominee's row is no footer, so only the
    first non-empty cell counts, and only when the name column is empty (or holds the same
    text, a footer merged across the row).
    """
    texts = [t for t in (cell_text(v) for v in row) if t]
    if not texts or not texts[0].lstrip().startswith(FOOTER_WORDS):
        return False
    name = _cell(row, header.columns.get(_NAME_KEY))
    return not name or name == texts[0]


def _holds_total(text: str | None) -> bool:
    label = normalise_label(text) if text else ""
    return bool(label) and label.startswith(TOTAL_WORDS)


def _is_total(row: list[Any], header: Header) -> bool:
    """A total row ("合计 4人"): the total word in the 序号 or name cell, or anywhere when no name is given.

    A story ("总计参加培训30余次") in another column of a nominee's row does not make a total.
    """
    name = _cell(row, header.columns.get(_NAME_KEY))
    if _holds_total(name) or _holds_total(_cell(row, header.seq_column)):
        return True
    return not name and any(_holds_total(cell_text(v)) for v in row)


def _is_name(text: str | None, header_label_index: dict[str, FieldSpec]) -> bool:
    if not text:
        return False
    label = normalise_label(text)
    # a bare number is a 序号 column typed into the name column; a label is a repeated header row
    return bool(label) and not label.isdigit() and label not in header_label_index


def read_register(grid: Grid, path: str, submission: int = 0) -> RegisterTable | None:
    """A RegisterTable from a grid, or None when the grid holds no register header."""
    header = find_header(grid)
    if header is None:
        return None
    index = label_index(header.specs, register=True)
    table = RegisterTable(
        kind=header.kind,
        path=path,
        submission=submission,
        unit_line=unit_line_of(grid, header.row),
        missing_columns=missing_columns(header.specs, header.columns.keys()),
    )
    for r in range(header.data_start, len(grid)):
        row = grid[r]
        if all(is_blank(v) for v in row):
            continue
        if _is_footer(row, header):
            break
        if _is_total(row, header):
            continue
        values = {key: row[c] if c < len(row) else None for key, c in header.columns.items()}
        name = cell_text(values.get(_NAME_KEY))
        if not _is_name(name, index):
            continue
        if header.kind is FileKind.REGISTER_STARS:
            table.star_rows.append(star_fields(values))
        else:
            table.project_rows.append(project_fields(values))
    return table


def missing_columns(specs: tuple[FieldSpec, ...], found: Any, *, register: bool = True) -> list[str]:
    """Labels of required fields not found; an unmet "at least one of" group reads "年参与人数/年参与人次"."""
    found = set(found)
    missing = [
        s.label
        for s in specs
        if (s.required_in_register if register else s.required_in_form)
        and (s.in_register if register else s.in_form)
        and s.key not in found
    ]
    keys = {s.key for s in specs}
    for members in REQUIRED_GROUPS.values():
        if set(members) <= keys and not set(members) & found:
            missing.append("/".join(s.label for s in specs if s.key in members))
    return missing


def star_fields(values: dict[str, Any], unit_line: str | None = None) -> StarFields:
    data: dict[str, Any] = {key: cell_text(value) for key, value in values.items()}
    data["birth_parsed"] = parse_year_month(values.get("birth"))
    return StarFields(**data, unit_line=unit_line)


def project_fields(values: dict[str, Any], unit_line: str | None = None) -> ProjectFields:
    data: dict[str, Any] = {key: cell_text(value) for key, value in values.items()}
    data["founded_parsed"] = parse_year_month(values.get("founded"))
    data["people_per_year_n"] = parse_count(values.get("people_per_year"))
    data["participations_per_year_n"] = parse_count(values.get("participations_per_year"))
    return ProjectFields(**data, unit_line=unit_line)


def title_kind(grid: Grid) -> FileKind | None:
    """The register a title row names, if any."""
    for row in grid[:HEADER_SCAN_ROWS]:
        for value in row:
            if isinstance(value, str):
                label = normalise_label(value)
                if PROJECT_REGISTER_TITLE in label:
                    return FileKind.REGISTER_PROJECTS
                if STAR_REGISTER_TITLE in label:
                    return FileKind.REGISTER_STARS
    return None
