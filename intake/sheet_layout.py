"""The finish every worksheet the desk writes gets: columns as wide as what they hold, long texts
wrapped, the header row frozen and filtered.

The office reads these sheets (roster, digest, contact sheet, registers) in Excel or WPS and
sorts and filters them; a sheet whose columns are all 8.43 wide shows "####" for dates and cuts
every unit name, so the clerk widens forty columns by hand every morning. Widths are measured
the way a spreadsheet lays out text: a CJK or full-width character takes two columns, others
one; a multi-line cell counts its longest line. A column is never narrower than MIN_WIDTH (its
filter button needs room) nor wider than MAX_WIDTH (a 2,000-character 事迹简介 would push
everything else off the screen): a cell longer than that wraps instead.

It lives beside intake/sheet_cells.py, the lowest floor that writes a sheet, so every writer
(intake, schedule, nomdesk) calls the same `finish_sheet`; tests/intake/test_sheet_writers.py
checks that every workbook a writer makes has been finished.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import weakref
from collections.abc import Iterable, Mapping

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.fills import Fill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

MIN_WIDTH = 8.0
MAX_WIDTH = 60.0
PADDING = 2.0  # room for the filter button and the cell's margins
LINK_FONT = Font(color="FF0563C1", underline="single")  # Excel's own link colour
WIDE = frozenset("WF")  # East Asian Wide and Fullwidth: two columns each


def text_width(text: str) -> int:
    """How many columns `text`'s longest line takes: CJK and full-width characters two, others one."""
    lines = text.split("\n")
    if text.isascii():  # no ASCII character is wide
        return max(len(line) for line in lines)
    return max(sum(2 if unicodedata.east_asian_width(ch) in WIDE else 1 for ch in line) for line in lines)


def cell_width(cell: Cell) -> int:
    """Columns the cell's shown value takes (a date as its number format shows it)."""
    value = cell.value
    if value is None:
        return 0
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return len(str(cell.number_format)) if cell.number_format != "General" else 19
    if isinstance(value, str):
        return text_width(value)
    return len(str(value))


def finish_sheet(
    ws: Worksheet,
    *,
    header_row: int = 1,
    freeze: str | None = None,
    last_row: int | None = None,
    at_least: Mapping[str, float] | None = None,
    filtered: bool = True,
) -> None:
    """Fit the columns, wrap long cells, freeze and filter the header.

    `header_row` is the header's row (a title may sit above it: its merged cells are not measured);
    `freeze` the first cell that scrolls (default: column A below the header; "C2" keeps the
    number and name columns in view too); `last_row` the last row the filter covers (a note
    below the table is left out); `at_least` widths by header label, for a blank register whose
    columns must be wide enough to write in before anything is written.
    """
    merged = {
        (row, col)
        for rng in ws.merged_cells.ranges
        for row in range(rng.min_row, rng.max_row + 1)
        for col in range(rng.min_col, rng.max_col + 1)
    }
    widths: dict[int, int] = {}
    wrapped: dict[tuple[object, ...], Alignment] = {}  # one wrapping alignment per original, not one per cell
    headers: dict[int, str] = {}
    texts: dict[str, int] = {}  # a text's width, measured once (units, states, "是" recur on every row)
    for row in ws.iter_rows(min_row=header_row):
        for cell in row:
            value = cell.value
            if value is None or (merged and (cell.row, cell.column) in merged):
                continue
            if cell.row == header_row and isinstance(value, str):
                headers[cell.column] = value
            if isinstance(value, str):
                width = texts.get(value, -1)
                if width < 0:
                    width = texts[value] = _shown_width(cell)
            else:
                width = cell_width(cell)
            widths[cell.column] = max(widths.get(cell.column, 0), min(width, int(MAX_WIDTH)))
            if width + PADDING > MAX_WIDTH or (isinstance(cell.value, str) and "\n" in cell.value):
                _wrap(cell, wrapped)
    at_least = at_least or {}
    last_column = max([*widths, *headers, ws.max_column if ws.max_row >= header_row else 1])
    for column in range(1, last_column + 1):
        fitted = widths.get(column, 0) + PADDING
        floor = at_least.get(headers.get(column, ""), MIN_WIDTH)
        ws.column_dimensions[get_column_letter(column)].width = min(max(fitted, floor, MIN_WIDTH), MAX_WIDTH)
    ws.freeze_panes = freeze or f"A{header_row + 1}"
    if filtered:
        bottom = max(last_row if last_row is not None else ws.max_row, header_row)
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(last_column)}{bottom}"


def _shown_width(cell: Cell) -> int:
    """`cell_width`, or MAX_WIDTH for a text with a line that long (it is wrapped and its column as
    wide as can be, whatever its exact width: a 事迹简介 of 2,000 characters is not measured)."""
    value = cell.value
    if isinstance(value, str) and len(max(value.split("\n"), key=len)) >= MAX_WIDTH:
        return int(MAX_WIDTH)
    return cell_width(cell)


def _wrap(cell: Cell, wrapped: dict[tuple[object, ...], Alignment]) -> None:
    original = cell.alignment
    key = (original.horizontal, original.vertical, original.indent, original.text_rotation)
    if key not in wrapped:
        wrapped[key] = Alignment(
            horizontal=original.horizontal,
            vertical=original.vertical or "top",
            indent=original.indent,
            text_rotation=original.text_rotation,
            wrap_text=True,
        )
    set_style(cell, "alignment", wrapped[key])


# ---- styles at the speed of a 10,000-row roster ---------------------------------------------------
# openpyxl hashes the whole style object (a fill, a font, an alignment: a tree of descriptors) on
# every assignment to find its index in the workbook's table; the roster's 200,000 cells spent
# seconds on that alone. The index an object was given is kept here per workbook, and a cell gets
# the index as openpyxl's own style copy does (its `_style` array): the same bytes in the file.
_STYLE_KEYS = {"fill": "fillId", "font": "fontId", "alignment": "alignmentId"}
_STYLE_IDS: weakref.WeakKeyDictionary[object, dict[tuple[str, int], tuple[object, int]]] = (  # by workbook
    weakref.WeakKeyDictionary()
)


def set_style(cell: Cell, key: str, value: Fill | Font | Alignment) -> Cell:
    """`setattr(cell, key, value)` for key "fill", "font" or "alignment", without openpyxl's lookup
    after the first time `value` (this very object) is given to a cell of the workbook."""
    known = _STYLE_IDS.setdefault(cell.parent.parent, {})
    kept = known.get((key, id(value)))
    if kept is None or kept[0] is not value:
        setattr(cell, key, value)
        known[(key, id(value))] = (value, getattr(cell._style, _STYLE_KEYS[key]))
        return cell
    if cell._style is None:
        cell._style = StyleArray()
    setattr(cell._style, _STYLE_KEYS[key], kept[1])
    return cell


def fill_cells(cells: Iterable[Cell], fill: Fill) -> None:
    """`cell.fill = fill` for every cell (a row's colour): the first through `set_style`, the others
    given its index."""
    first, *rest = [*cells] or [None]
    if first is None:
        return
    fill_id = set_style(first, "fill", fill)._style.fillId
    for cell in rest:
        if cell._style is None:
            cell._style = StyleArray()
        cell._style.fillId = fill_id


# What a link reads as its own syntax (a "#" would cut the name there). Spaces stay as they are,
# as Excel keeps them in a relative file link, and read the same escaped or not.
_LINK_ESCAPES = {"%": "%25", "#": "%23", "?": "%3F"}


def safe_link_target(target: str) -> str | None:
    """`target` as a relative link inside the folder the sheet sits in, or None when it is not one.

    A link may only lead to a file of the exported tree: never an absolute path, a drive, a
    share, a scheme (http:, file:, a WeCom or mail link) or a step up ("..") that leaves the
    tree. Characters a link reads as its own syntax are escaped; the Chinese names stay as they
    are, as Excel itself writes them.
    """
    parts = target.split("/")
    if (
        not target
        or "\\" in target
        or ":" in target
        or target.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or any(ord(ch) < 0x20 for ch in target)
    ):
        return None
    return "".join(_LINK_ESCAPES.get(ch, ch) for ch in target)


def put_link(cell: Cell, target: str) -> Cell:
    """Make `cell` (already written, through intake.sheet_cells) a link to `target`, a relative
    path in the exported tree; an unsafe target leaves the cell plain text. The link is the
    cell's hyperlink, never a HYPERLINK() formula."""
    link = safe_link_target(target)
    if link is not None:
        cell.hyperlink = link
        set_style(cell, "font", LINK_FONT)  # looks like a link; the row's fill stays (a "Hyperlink" style would not)
    return cell
