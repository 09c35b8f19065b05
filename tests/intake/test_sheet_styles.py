"""A row's colour and a link's font given through intake.sheet_layout's quick path come out of the
file exactly as when openpyxl is given them cell by cell: the same sheet and the same style table."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill

from intake.sheet_cells import safe_row
from intake.sheet_layout import LINK_FONT, fill_cells, finish_sheet, set_style

ROWS = [["序号", "姓名", "备注"], [1, "金哲洙", "=HYPERLINK(1)"], [2, "李梅", "-3"], [3, "王芳", None]]
GREEN, YELLOW = (PatternFill("solid", start_color=c, end_color=c) for c in ("FFC6EFCE", "FFFFE699"))


def _book(quick: bool) -> bytes:
    wb = Workbook()
    ws = wb.active
    for n, values in enumerate(ROWS):
        cells = safe_row(ws, values)
        fill = GREEN if n % 2 else YELLOW
        if quick:
            fill_cells(cells, fill)
            set_style(cells[1], "font", LINK_FONT)
        else:
            for cell in cells:
                cell.fill = fill
            cells[1].font = LINK_FONT
    finish_sheet(ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_quick_styles_write_the_same_sheet_as_openpyxl_cell_by_cell() -> None:
    quick, plain = _book(quick=True), _book(quick=False)
    for part in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
        assert zipfile.ZipFile(io.BytesIO(quick)).read(part) == zipfile.ZipFile(io.BytesIO(plain)).read(part)
    ws = load_workbook(io.BytesIO(quick)).active
    assert [c.fill.start_color.rgb for c in ws[2]] == ["FFC6EFCE"] * 3
    assert [c.fill.start_color.rgb for c in ws[3]] == ["FFFFE699"] * 3
    assert ws["C2"].value == "=HYPERLINK(1)" and ws["C2"].quotePrefix and ws["B2"].font.underline == "single"
