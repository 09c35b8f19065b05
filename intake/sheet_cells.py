"""Spreadsheet cells that hold what people wrote, never a formula.

A unit's contact named "=HYPERLINK(…)" or a nominee's remark starting with "+" or "-" is data:
written as it is, Excel would run it (a formula can fetch a URL or start a program) or show
"#NAME?" instead of the name. Every .xlsx the desk writes for the office (contact sheet, digest,
roster) keeps such a value as text through this one guard; it lives on the lowest floor that
writes a sheet, so intake, schedule and nomdesk all use the same.
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell

FORMULA_STARTS = ("=", "+", "-", "@")  # what Excel and LibreOffice read as the start of a formula


def looks_like_formula(value: object) -> bool:
    """A text a spreadsheet would evaluate rather than show."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


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
    cell.value = value
    return text_cell(cell)
