"""The blank forms the office publishes, written from the same field list the readers use.

Required fields carry a "*" after their label (the readers' label normalisation drops it).
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from config import Campaign, load_campaign
from intake.forms.fields import (
    PROJECT_FIELDS,
    PROJECT_FORM_TITLE,
    PROJECT_REGISTER_TITLE,
    STAR_FIELDS,
    STAR_FORM_TITLE,
    STAR_REGISTER_TITLE,
    UNIT_LINE_LABEL,
    FieldSpec,
)
from intake.sheet_cells import put, safe_row
from intake.sheet_layout import finish_sheet

STAR_FORM_FILE = f"附表1 {STAR_FORM_TITLE}.docx"
STAR_REGISTER_FILE = f"附表2 {STAR_REGISTER_TITLE}.xlsx"
PROJECT_FORM_FILE = f"附表3 {PROJECT_FORM_TITLE}.docx"
PROJECT_REGISTER_FILE = f"附表4 {PROJECT_REGISTER_TITLE}.xlsx"

# Fields whose value takes a whole table row in the Word forms, and how tall (cm) it is.
STAR_WIDE = {"employer_title": 1.0, "honours": 2.0, "story": 12.0, "opinion": 3.0}
PROJECT_WIDE = {
    "name": 1.0,
    "organizer": 1.0,
    "online": 1.0,
    "activities": 6.0,
    "measures": 5.0,
    "effects": 5.0,
    "opinion": 3.0,
}
FONT = "宋体"
REQUIRED_MARK = "*"
NOTE = "注：带“*”号的为必填项。"


def label_text(spec: FieldSpec, *, register: bool) -> str:
    required = spec.required_in_register if register else spec.required_in_form
    return spec.label + (REQUIRED_MARK if required else "")


def write_templates(directory: Path, campaign: Campaign | None = None) -> list[Path]:
    """Write 附表1-4 into `directory` (created if needed) and return their paths."""
    campaign = campaign or load_campaign()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [
        directory / STAR_FORM_FILE,
        directory / STAR_REGISTER_FILE,
        directory / PROJECT_FORM_FILE,
        directory / PROJECT_REGISTER_FILE,
    ]
    groups = "、".join(campaign.star.groups)
    categories = "、".join(campaign.project.categories)
    _write_form(paths[0], "附表1", STAR_FORM_TITLE, STAR_FIELDS, STAR_WIDE, f"所属群体填写其一：{groups}。")
    _write_register(
        paths[1],
        STAR_REGISTER_TITLE,
        STAR_FIELDS,
        rows=campaign.quotas.stars.max,
        choices={"group": campaign.star.groups},
        note=f"备注栏注明“{campaign.exemplar.marks[0]}”的为典范（每单位限 {campaign.quotas.exemplar_stars} 名）。",
    )
    _write_form(
        paths[2],
        "附表3",
        PROJECT_FORM_TITLE,
        PROJECT_FIELDS,
        PROJECT_WIDE,
        f"项目类别填写其一：{categories}；年参与人数、年参与人次至少填写一项。",
    )
    marks = campaign.exemplar.marks
    _write_register(
        paths[3],
        PROJECT_REGISTER_TITLE,
        PROJECT_FIELDS,
        rows=campaign.quotas.projects.max,
        choices={"category": campaign.project.categories},
        note=f"备注栏注明“{marks[1] if len(marks) > 1 else marks[0]}”的为典范"
        f"（每单位限 {campaign.quotas.exemplar_projects} 个）。",
    )
    return paths


# Word forms (附表1, 附表3)


def _write_form(
    path: Path, number: str, title: str, specs: tuple[FieldSpec, ...], wide: dict[str, float], hint: str
) -> None:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2)
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)

    _paragraph(document, number, size=14, bold=True)
    _paragraph(document, title, size=20, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(
        document,
        f"{UNIT_LINE_LABEL}：\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000填表日期：\u3000\u3000年\u3000月\u3000日",
    )

    fields = [s for s in specs if s.in_form]
    table = document.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Cm(3.2), Cm(5.1), Cm(3.2), Cm(5.1))
    pending: list[FieldSpec] = []

    def flush() -> None:
        while pending:
            pair, pending[:] = pending[:2], pending[2:]
            cells = table.add_row().cells
            for i, spec in enumerate(pair):
                _label_cell(cells[2 * i], label_text(spec, register=False))
            if len(pair) == 1:
                cells[1].merge(cells[3])

    for spec in fields:
        if spec.key in wide:
            flush()
            row = table.add_row()
            row.height = Cm(wide[spec.key])
            cells = row.cells
            _label_cell(cells[0], label_text(spec, register=False))
            value = cells[1].merge(cells[3])
            value.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
            if spec.key == "opinion":
                value.paragraphs[0].text = ""
                _paragraph_in(
                    value, "（盖章）\u3000\u3000\u3000\u3000年\u3000\u3000月\u3000\u3000日", WD_ALIGN_PARAGRAPH.RIGHT
                )
        else:
            pending.append(spec)
            if len(pending) == 2:
                flush()
    flush()
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=False):
            cell.width = width
    _paragraph(document, NOTE + hint, size=10)
    document.save(str(path))


def _paragraph(
    document: Document, text: str, *, size: float = 12, bold: bool = False, align: int | None = None
) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    run.font.name = FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if align is not None:
        paragraph.alignment = align


def _paragraph_in(cell: object, text: str, align: int) -> None:
    paragraph = cell.add_paragraph(text)  # type: ignore[attr-defined]
    paragraph.alignment = align


def _label_cell(cell: object, text: str) -> None:
    cell.text = text  # type: ignore[attr-defined]
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER  # type: ignore[attr-defined]
    paragraph = cell.paragraphs[0]  # type: ignore[attr-defined]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in paragraph.runs:
        run.bold = True
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), "F2F2F2")
    cell._tc.get_or_add_tcPr().append(shading)  # type: ignore[attr-defined]


# Excel registers (附表2, 附表4)

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
_WRAP_LEFT = Alignment(wrap_text=True, vertical="center", horizontal="left")
_WIDTHS = {"name": 14, "employer_title": 28, "intro": 40, "remarks": 16, "organizer": 24, "phone": 15}


def _write_register(
    path: Path, title: str, specs: tuple[FieldSpec, ...], *, rows: int, choices: dict[str, list[str]], note: str
) -> None:
    workbook = Workbook()
    ws = workbook.active
    ws.title = title
    columns = ["序号", *(label_text(s, register=True) for s in specs if s.in_register)]
    keys = ["", *(s.key for s in specs if s.in_register)]
    last = get_column_letter(len(columns))
    half = max(2, len(columns) // 2)

    safe_row(ws, [title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(name=FONT, size=18, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 36

    put(ws, 2, 1, f"{UNIT_LINE_LABEL}：")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    put(ws, 2, half + 1, "填表日期：\u3000\u3000年\u3000月\u3000日")
    ws.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=len(columns))
    for col in (1, half + 1):
        ws.cell(row=2, column=col).font = Font(name=FONT, size=12)
    ws.row_dimensions[2].height = 24

    for cell in safe_row(ws, columns):
        cell.font = Font(name=FONT, size=11, bold=True)
        cell.alignment = _WRAP
        cell.border = _BORDER
    ws.row_dimensions[3].height = 36

    for n in range(1, rows + 1):
        r = 3 + n
        put(ws, r, 1, n)
        for col, key in enumerate(keys, start=1):
            cell = ws.cell(row=r, column=col)
            cell.border = _BORDER
            cell.font = Font(name=FONT, size=11)
            cell.alignment = _WRAP_LEFT if key in ("intro", "employer_title", "remarks") else _WRAP
            if key in ("phone", "birth", "founded", "people_per_year", "participations_per_year"):
                cell.number_format = "@"  # text: keeps "1984.10" and leading zeros as typed
        ws.row_dimensions[r].height = 30

    for key, options in choices.items():
        if key not in keys:
            continue
        letter = get_column_letter(keys.index(key) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
        validation.showErrorMessage = False  # a suggestion list, not a lock: units write what they write
        ws.add_data_validation(validation)
        validation.add(f"{letter}4:{letter}{3 + rows}")

    put(ws, 4 + rows, 1, NOTE + note).font = Font(name=FONT, size=10)
    ws.merge_cells(start_row=4 + rows, start_column=1, end_row=4 + rows, end_column=len(columns))
    # blank rows: each column at least its designed width, so a unit can write in it (finish_sheet sets every width)
    designed = {label: _WIDTHS.get(key, 11 if key else 6) for label, key in zip(columns, keys, strict=True)}
    finish_sheet(ws, header_row=3, freeze="C4", last_row=3 + rows, at_least=designed)
    ws.print_title_rows = "1:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    workbook.save(path)
