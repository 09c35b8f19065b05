"""The one formula guard every sheet the desk writes goes through."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from intake.sheet_cells import put_text, text_cell


def test_text_that_starts_like_a_formula_reads_back_as_the_text_and_the_rest_is_untouched() -> None:
    typed = ['=HYPERLINK("http://evil.example/x")', "+8613812345678", "-赵", "@王芳", "王芳"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for column, value in enumerate(typed, start=1):
        put_text(ws.cell(row=1, column=column), value)
    ws.append([3, "=SUM(A1)"])  # what ws.append took for a formula, guarded after the fact
    text_cell(ws.cell(row=2, column=2))
    back = load_workbook(io.BytesIO(_saved(wb))).active
    assert back is not None
    assert [c.value for c in back[1]] == typed
    assert [c.data_type for c in back[1]] == ["s"] * len(typed)
    assert [c.quotePrefix for c in back[1]] == [True, True, True, True, False]  # Excel keeps it text on edit
    assert (back["A2"].value, back["A2"].data_type) == (3, "n")
    assert (back["B2"].value, back["B2"].data_type) == ("=SUM(A1)", "s")


def _saved(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
