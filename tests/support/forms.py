"""Builders that fill in the four forms the many ways units do, plus work summaries.

Every builder takes the target path first and JSON-friendly parameters, so `cached()` can
key the fixture cache on them. A cell value given as {"date": "1971-08-01"} is written as a
real Excel date; any other value is written as is (a float stays a number cell).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cache import cached_file

UNIT_LABEL = "推荐单位（盖章）："

# Register columns as the real samples spell them; (group, label) puts a label under a merged group.
STAR_COLUMNS: dict[str, tuple[str | None, str]] = {
    "seq": (None, "序号"),
    "name": (None, "姓\u3000名"),
    "gender": ("基本情况", "性别"),
    "birth": ("基本情况", "出生年月"),
    "ethnicity": ("基本情况", "民族"),
    "politics": ("基本情况", "政治面貌"),
    "education": ("基本情况", "学历"),
    "employer_title": (None, "工作单位及职务\n（职业）"),
    "group": (None, "所属群体"),
    "phone": (None, "联系电话"),
    "intro": (None, "事迹简介\n（100字以内）"),
    "remarks": (None, "备注"),
}
PROJECT_COLUMNS: dict[str, tuple[str | None, str]] = {
    "seq": (None, "序号"),
    "name": (None, "项目名称"),
    "organizer": (None, "申报单位"),
    "leader": (None, "项目\n负责人"),
    "phone": (None, "联系电话"),
    "founded": (None, "创建时间"),
    "people_per_year": ("参与规模", "年参与人数"),
    "participations_per_year": ("参与规模", "年参与人次"),
    "category": (None, "项目类别"),
    "intro": (None, "项目简介\n（100字以内）"),
    "remarks": (None, "备注"),
}
TITLES = {"stars": "百姓学习之星推荐登记表", "projects": "终身学习品牌项目推荐登记表"}


def cached(builder: Callable[..., None], suffix: str, **params: Any) -> Path:
    """The fixture `builder(path, **params)` makes, built once and cached."""
    return cached_file(builder.__name__, params, suffix, lambda path: builder(path, **params))


def cell_value(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        return dt.datetime.fromisoformat(value["date"])
    return value


# Registers (附表2 / 附表4)


def register_layout(
    kind: str,
    rows: list[dict[str, Any]],
    *,
    unit: str | None = "延边朝鲜族自治州教育局",
    title: bool = True,
    unit_style: str = "merged",  # merged | with_date | split | none
    two_row_header: bool = True,
    labels: dict[str, str] | None = None,
    order: list[str] | None = None,
    extra_columns: list[str] | None = None,
    leading_blank_rows: int = 0,
    trailing_empty: int = 3,
    total_row: bool = False,
    total_in: str = "seq",  # the column that reads "合计": seq (序号) or name
    footer: str | None = None,
    numbered_header_row: bool = False,
) -> tuple[dict[tuple[int, int], Any], list[tuple[int, int, int, int]]]:
    """Cells {(row, col): value} (0-based) and merged ranges (r0, c0, r1, c1) of a filled register."""
    columns = dict(STAR_COLUMNS if kind == "stars" else PROJECT_COLUMNS)
    for key, label in (labels or {}).items():
        columns[key] = (columns.get(key, (None, label))[0], label)
    keys = order or list(columns)
    heads: list[tuple[str | None, str, str]] = [(columns[k][0], columns[k][1], k) for k in keys]
    heads += [(None, label, f"extra{i}") for i, label in enumerate(extra_columns or [])]
    width = len(heads)
    cells: dict[tuple[int, int], Any] = {}
    merges: list[tuple[int, int, int, int]] = []
    r = leading_blank_rows
    if title:
        cells[(r, 0)] = TITLES[kind]
        merges.append((r, 0, r, width - 1))
        r += 1
    if unit_style != "none":
        half = width // 2
        if unit_style == "with_date":
            cells[(r, 0)] = f"{UNIT_LABEL}{unit or ''}\u3000\u3000\u3000填表日期：2021年8月21日"
            merges.append((r, 0, r, width - 1))
        elif unit_style == "split":
            cells[(r, 0)] = UNIT_LABEL
            cells[(r, 1)] = unit
            merges.append((r, 1, r, half))
        else:
            cells[(r, 0)] = f"{UNIT_LABEL}{unit or ''}"
            merges.append((r, 0, r, half - 1))
            cells[(r, half + 1)] = "填表日期：2021年8月21日"
            merges.append((r, half + 1, r, width - 1))
        r += 1
    grouped = two_row_header and any(g for g, _, _ in heads)
    if grouped:
        c = 0
        while c < width:
            group = heads[c][0]
            if group is None:
                cells[(r, c)] = heads[c][1]
                merges.append((r, c, r + 1, c))
                c += 1
                continue
            end = c
            while end + 1 < width and heads[end + 1][0] == group:
                end += 1
            cells[(r, c)] = group
            if end > c:
                merges.append((r, c, r, end))
            for k in range(c, end + 1):
                cells[(r + 1, k)] = heads[k][1]
            c = end + 1
        r += 2
    else:
        for c, (_, label, _) in enumerate(heads):
            cells[(r, c)] = label
        r += 1
    if numbered_header_row:
        for c in range(width):
            cells[(r, c)] = c + 1
        r += 1
    for n, row in enumerate(rows, start=1):
        for c, (_, _, key) in enumerate(heads):
            value = n if key == "seq" else row.get(key)
            if value is not None:
                cells[(r, c)] = cell_value(value)
        r += 1
    for _ in range(trailing_empty):  # bordered empty rows, as left over from the blank form
        for c in range(width):
            cells[(r, c)] = None
        r += 1
    if total_row:
        at = next(c for c, (_, _, key) in enumerate(heads) if key == total_in)
        cells[(r, at)] = "合计"
        cells[(r, at + 1)] = f"{len(rows)}人" if kind == "stars" else f"{len(rows)}个"
        r += 1
    if footer:
        cells[(r, 0)] = footer
        r += 1
    return cells, merges


def register_xlsx(path: Path, kind: str, rows: list[dict[str, Any]], sheet_before: bool = False, **layout: Any) -> None:
    from openpyxl import Workbook

    cells, merges = register_layout(kind, rows, **layout)
    workbook = Workbook()
    ws = workbook.active
    if sheet_before:
        ws.title = "说明"
        ws["A1"] = "本表由各单位填写"
        ws = workbook.create_sheet("Sheet1")
    else:
        ws.title = "Sheet1"
    for (r, c), value in cells.items():
        if value is None:
            ws.cell(row=r + 1, column=c + 1).border = _openpyxl_border()
            continue
        cell = ws.cell(row=r + 1, column=c + 1, value=value)
        if isinstance(value, dt.datetime):
            cell.number_format = "yyyy.mm"
    for r0, c0, r1, c1 in merges:
        ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    workbook.save(path)


def _openpyxl_border() -> Any:
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")
    return Border(left=thin, right=thin, top=thin, bottom=thin)


def register_xls(path: Path, kind: str, rows: list[dict[str, Any]], **layout: Any) -> None:
    import xlwt

    cells, merges = register_layout(kind, rows, **layout)
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="yyyy.mm")
    merged_at = {(r0, c0): (r0, c0, r1, c1) for r0, c0, r1, c1 in merges}
    covered = {(r, c) for r0, c0, r1, c1 in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    for r0, c0, r1, c1 in merges:
        ws.write_merge(r0, r1, c0, c1, cells.get((r0, c0)) or "")
    for (r, c), value in cells.items():
        if (r, c) in merged_at or (r, c) in covered or value is None:
            continue
        if isinstance(value, dt.datetime):
            ws.write(r, c, value, date_style)
        else:
            ws.write(r, c, value)
    book.save(str(path))


# Word forms (附表1 / 附表3)

STAR_FORM_LABELS = {
    "name": "姓\u3000\u3000名",
    "gender": "性\u3000\u3000别",
    "birth": "出生\n年月",
    "ethnicity": "民\u3000\u3000族",
    "politics": "政治\n面貌",
    "education": "学\u3000\u3000历",
    "id_number": "身份证号",
    "group": "所属\n群体",
    "employer_title": "工作单位\n及职务",
    "phone": "联系\n电话",
    "email": "电子\n邮箱",
    "address": "通讯\n地址",
    "postcode": "邮\u3000\u3000编",
    "honours": "所获\n荣誉",
    "story": "主\n要\n学\n习\n事\n迹",
    "opinion": "推荐\n单位\n意见",
}
# (key, first column, last column of the value) per row; the 7th column holds the photo in rows 0-2.
STAR_FORM_ROWS: list[list[tuple[str, int, int]]] = [
    [("name", 1, 1), ("gender", 3, 3), ("birth", 5, 5)],
    [("ethnicity", 1, 1), ("politics", 3, 3), ("education", 5, 5)],
    [("id_number", 1, 3), ("group", 5, 5)],
    [("employer_title", 1, 6)],
    [("phone", 1, 2), ("email", 4, 6)],
    [("address", 1, 3), ("postcode", 5, 6)],
    [("honours", 1, 6)],
    [("story", 1, 6)],
    [("opinion", 1, 6)],
]
PROJECT_FORM_LABELS = {
    "name": "项目名称",
    "organizer": "申报单位（举办主体）",
    "leader": "项目负责人",
    "phone": "联系电话",
    "founded": "创建时间",
    "category": "项目类别",
    "people_per_year": "年参与人数",
    "participations_per_year": "年参与人次",
    "online": "是否开展线上学习",
    "activities": "活动内容与形式",
    "measures": "具体措施与保障",
    "effects": "取得的成效与影响",
    "opinion": "推荐单位意见",
}
PROJECT_FORM_ROWS: list[list[tuple[str, int, int]]] = [
    [("name", 1, 3)],
    [("organizer", 1, 3)],
    [("leader", 1, 1), ("phone", 3, 3)],
    [("founded", 1, 1), ("category", 3, 3)],
    [("people_per_year", 1, 1), ("participations_per_year", 3, 3)],
    [("online", 1, 3)],
    [("activities", 1, 3)],
    [("measures", 1, 3)],
    [("effects", 1, 3)],
    [("opinion", 1, 3)],
]
OPINION = "\n\n（盖章）\n2021年\u3000月\u3000日"


def _form_docx(
    path: Path,
    entries: list[dict[str, Any]],
    *,
    number: str,
    title: str,
    labels: dict[str, str],
    layout: list[list[tuple[str, int, int]]],
    columns: int,
    photo: bool,
    unit: str | None,
    label_overrides: dict[str, str] | None,
    drop_labels: list[str] | None,
    one_table: bool,
) -> None:
    from docx import Document
    from docx.enum.text import WD_BREAK

    labels = {**labels, **(label_overrides or {})}
    drop = set(drop_labels or [])
    document = Document()
    table = None
    for n, entry in enumerate(entries):
        if not one_table or n == 0:
            if n:
                document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            document.add_paragraph(number)
            document.add_paragraph(title)
            if unit is not None:
                document.add_paragraph(f"{UNIT_LABEL}{unit}\u3000\u3000\u3000\u3000\u3000\u3000填表日期：2021年8月  日")
            table = document.add_table(rows=0, cols=columns)
            table.style = "Table Grid"
        assert table is not None
        first = len(table.rows)
        for spec in layout:
            cells = table.add_row().cells
            for key, start, end in spec:
                label_cell = cells[start - 1]
                value = entry.get(key, OPINION if key == "opinion" else None)
                if key in drop:
                    label_cell.text = ""
                    value = None
                else:
                    label_cell.text = labels[key]
                target = cells[start].merge(cells[end]) if end > start else cells[start]
                target.text = "" if value is None else str(value)
        if photo:
            top = table.rows[first].cells[columns - 1]
            merged = top.merge(table.rows[first + 2].cells[columns - 1])
            merged.text = "（照片）"
    document.save(str(path))


def star_forms_docx(
    path: Path,
    persons: list[dict[str, Any]],
    unit: str | None = "延边朝鲜族自治州教育局",
    label_overrides: dict[str, str] | None = None,
    drop_labels: list[str] | None = None,
    one_table: bool = False,
) -> None:
    """附表1 as the samples lay it out (7 columns, merged value cells, a photo cell), one per person."""
    _form_docx(
        path,
        persons,
        number="附表1",
        title="百姓学习之星推荐表",
        labels=STAR_FORM_LABELS,
        layout=STAR_FORM_ROWS,
        columns=7,
        photo=True,
        unit=unit,
        label_overrides=label_overrides,
        drop_labels=drop_labels,
        one_table=one_table,
    )


def project_forms_docx(
    path: Path,
    projects: list[dict[str, Any]],
    unit: str | None = None,
    label_overrides: dict[str, str] | None = None,
    drop_labels: list[str] | None = None,
    one_table: bool = False,
) -> None:
    """附表3 as the samples lay it out (4 columns), one per project."""
    _form_docx(
        path,
        projects,
        number="附表3",
        title="终身学习品牌项目推荐表",
        labels=PROJECT_FORM_LABELS,
        layout=PROJECT_FORM_ROWS,
        columns=4,
        photo=False,
        unit=unit,
        label_overrides=label_overrides,
        drop_labels=drop_labels,
        one_table=one_table,
    )


def opendocument(path: Path, source: str, **params: Any) -> None:
    """A form saved again by LibreOffice as .odt/.ods (the suffix of `path`), as units using it send them.

    `source` names the builder of the original ("star_forms_docx", "register_xlsx"), `params` its parameters.
    """
    import shutil
    import subprocess
    import tempfile

    build, suffix = {"star_forms_docx": (star_forms_docx, ".docx"), "register_xlsx": (register_xlsx, ".xlsx")}[source]
    original = cached(build, suffix, **params)
    target = path.suffix.lstrip(".")
    with tempfile.TemporaryDirectory(prefix="opendocument-") as work:
        profile = f"-env:UserInstallation={Path(work, 'profile').as_uri()}"
        subprocess.run(
            ["soffice", profile, "--headless", "--convert-to", target, "--outdir", work, str(original)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        shutil.move(next(Path(work).glob(f"*.{target}")), path)


# Work summaries


def summary_docx(path: Path, title: str, paragraphs: list[str]) -> None:
    from docx import Document

    document = Document()
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))


def summary_txt(path: Path, text: str, encoding: str = "gb18030") -> None:
    path.write_bytes(text.encode(encoding))


def text_pdf(path: Path, lines: list[str]) -> None:
    """A PDF whose text layer holds `lines`: a Type0 font with a ToUnicode map, no embedded glyphs.

    Enough for text extraction (what the desk reads); viewers substitute a font to show it.
    An empty `lines` gives a page with no text, like a scan.
    """
    chars = sorted({ch for line in lines for ch in line})
    gid = {ch: i + 1 for i, ch in enumerate(chars)}
    body = ["BT", "/F1 12 Tf", "14 TL", "40 800 Td"]
    for line in lines:
        body.append("<" + "".join(f"{gid[ch]:04X}" for ch in line) + "> Tj T*")
    body.append("ET")
    content = "\n".join(body).encode() if lines else b""
    cmap_lines = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for start in range(0, len(chars), 100):
        chunk = chars[start : start + 100]
        cmap_lines.append(f"{len(chunk)} beginbfchar")
        cmap_lines += [f"<{gid[ch]:04X}> <{ord(ch):04X}>" for ch in chunk]
        cmap_lines.append("endbfchar")
    cmap_lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    cmap = "\n".join(cmap_lines).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H"
        b" /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /STSong-Light /CIDToGIDMap /Identity"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        _stream(cmap),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def _stream(data: bytes) -> bytes:
    packed = zlib.compress(data)
    return f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed + b"\nendstream"
