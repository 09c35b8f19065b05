"""Spreadsheets as an office makes them, built in the test (no committed binaries)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook


def workbook_bytes(rows: list[list[Any]], merges: tuple[str, ...] = (), *, title: str | None = None) -> bytes:
    """An .xlsx of one sheet holding `rows` from A1, with `merges` ("A1:E1") merged."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if title is not None:
        ws.title = title
    for row in rows:
        ws.append(row)
    for cells in merges:
        ws.merge_cells(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
