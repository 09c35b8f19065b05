"""Spreadsheets (and Word tables) as plain grids of cell values, merged cells filled in.

A merged cell's value is repeated over its whole range, the way python-docx already
repeats merged Word cells, so header detection sees "基本情况" above each of 性别, 出生年月 ...
and a row-merged 姓名 in both header rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Bounds on what is read of one sheet: registers have a dozen columns and a few dozen rows;
# a sheet formatted down to row 1,048,576 must not make us build a million-row grid.
MAX_ROWS = 2000
MAX_COLUMNS = 60

Grid = list[list[Any]]


@dataclass
class Sheet:
    name: str
    grid: Grid


def _fill(grid: Grid, ranges: list[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value over the range (0-based, inclusive bounds)."""
    for top, left, bottom, right in ranges:
        if top >= len(grid):
            continue
        value = grid[top][left] if left < len(grid[top]) else None
        for r in range(top, min(bottom, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(left, min(right, len(row) - 1) + 1):
                row[c] = value


def _trim(grid: Grid) -> Grid:
    while grid and all(v is None or (isinstance(v, str) and not v.strip()) for v in grid[-1]):
        grid.pop()
    return grid


def read_xlsx(path: Path) -> list[Sheet]:
    """Every worksheet of an .xlsx as a grid (cached formula results, not formulas).

    Not openpyxl's read-only mode: it has no merged-cell ranges, which two-row headers need.
    openpyxl parses with lxml's resolve_entities=False and defusedxml's iterparse, so no
    external entity is ever fetched. The workbook is handed over as an open file: given a
    path, openpyxl refuses any name not ending in .xlsx/.xlsm, and units rename workbooks
    freely (.xls, .et, no extension); `sniff` has already decided from the bytes.
    """
    import openpyxl

    with path.open("rb") as fh:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension is not supported" and the like
            workbook = openpyxl.load_workbook(fh, data_only=True, keep_links=False, keep_vba=False)
        return _xlsx_sheets(workbook)


def _xlsx_sheets(workbook: Any) -> list[Sheet]:
    """The grids of an open openpyxl workbook, which is closed afterwards."""
    sheets: list[Sheet] = []
    try:
        for ws in workbook.worksheets:
            rows = min(ws.max_row or 0, MAX_ROWS)
            cols = min(ws.max_column or 0, MAX_COLUMNS)
            grid: Grid = [[None] * cols for _ in range(rows)]
            for r, row in enumerate(ws.iter_rows(min_row=1, max_row=rows, max_col=cols, values_only=True)):
                for c, value in enumerate(row):
                    grid[r][c] = value
            ranges = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
            _fill(grid, ranges)
            sheets.append(Sheet(ws.title, _trim(grid)))
    finally:
        workbook.close()
    return sheets


def read_xls(path: Path) -> list[Sheet]:
    """Every sheet of a legacy .xls (BIFF) as a grid; dates become datetimes."""
    import xlrd

    book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    sheets: list[Sheet] = []
    try:
        for index in range(book.nsheets):
            sh = book.sheet_by_index(index)
            rows = min(sh.nrows, MAX_ROWS)
            cols = min(sh.ncols, MAX_COLUMNS)
            grid: Grid = [[None] * cols for _ in range(rows)]
            for r in range(rows):
                for c in range(min(cols, sh.row_len(r))):
                    cell = sh.cell(r, c)
                    grid[r][c] = _xls_value(cell, book.datemode)
            ranges = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells]
            _fill(grid, ranges)
            sheets.append(Sheet(sh.name, _trim(grid)))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return sheets


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    return cell.value


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip().strip("\u3000").strip()
    return False
