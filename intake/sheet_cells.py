"""Spreadsheet cells that hold what people wrote, never a formula.

A unit's contact named "=HYPERLINK(…)" or a nominee's remark starting with "+" or "-" is data:
written as it is, Excel would run it (a formula can fetch a URL or start a program) or show
"#NAME?" instead of the name. Every .xlsx the desk writes for the office (contact sheet, digest,
roster, the blank registers) writes its cells through this one guard, header and title rows too;
it lives on the lowest floor that writes a sheet, so intake, schedule and nomdesk all use the same.
tests/intake/test_sheet_writers.py lists every module that makes a workbook and checks each one.

The starts are OWASP's list for CSV/formula injection: "=", "+", "-", "@", and the tab, carriage
return and line feed that a spreadsheet skips before it looks for one of those. Such a text is a
string cell with Excel's quote prefix, so it stays text when the clerk edits the cell too; a
number stays a number (the desk's own counts, 序号). The desk writes no CSV; a CSV writer would
need the same starts guarded by a leading "'" (OWASP), which is why the list lives here.

Characters XML cannot hold (the C0 controls but tab, CR and LF: a BEL from an old .xls cell, say)
would make openpyxl refuse the whole workbook, so one unit's stray byte would cost the office her
roster: they are written as their visible Unicode control pictures (U+2400…) instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

# What Excel and LibreOffice read as (or skip on the way to) the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CONTROL_PICTURES = 0x2400  # U+2400 SYMBOL FOR NULL: the control character c shows as chr(0x2400 + c)


def looks_like_formula(value: object) -> bool:
    """A text a spreadsheet would evaluate rather than show."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def storable(value: object) -> object:
    """`value` as a cell can hold it: a text's XML-illegal controls as their control pictures
    (see the module's docstring); anything else as it is."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: chr(CONTROL_PICTURES + ord(m[0])), value)
    return value


def text_cell(cell: Cell) -> Cell:
    """The cell as it is, except that a text starting like a formula stays text: a string cell for
    openpyxl (which took it for a formula) and a quote prefix, so Excel keeps it text when the
    clerk edits the cell too."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def put_text(cell: Cell, value: object) -> Cell:
    """Write `value` into `cell`, kept as text if it starts like a formula (see `text_cell`)."""
    cell.value = storable(value)
    return text_cell(cell)


def put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """`ws.cell(row, column, value)` through the guard: the one way the desk writes a single cell."""
    return put_text(ws.cell(row=row, column=column), value)


def safe_row(ws: Worksheet, values: Iterable[object]) -> list[Cell]:
    """Append a row below the sheet's last, every value through the guard; returns its cells, to
    style. (Cells made here and handed to `append`: no lookup or scan of the sheet per row.)"""
    cells = [put_text(Cell(ws), value) for value in values]
    ws.append(cells)
    return cells
