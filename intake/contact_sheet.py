"""The office's own contact sheet (联系人名单), read and written; pure, no storage.

Offices keep their contacts in a spreadsheet they have typed by hand for years: a merged title
row above the header, columns in any order and under several names, full-width spaces, two
addresses in one cell, phone numbers Excel stored as numbers. The reader finds the columns by
their header names and cleans the cells; a row it cannot take is a named problem for that row,
never a crash, so one typo does not cost the office the other sixty rows. Whether a row's unit
is in the campaign is the desk's question (`nomdesk.contacts`), not this module's.

The writer produces the same sheet (export and template), every cell a string: a name or
address that starts with "=" must never become a formula in the office's Excel.
"""

from __future__ import annotations

import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel

from config import Campaign, load_campaign
from intake.forms.grid import Sheet, read_xls, read_xlsx
from intake.sheet_cells import put
from intake.sheet_layout import finish_sheet
from intake.sniff import sniff

CONTACT_TEMPLATE_FILE = "联系人导入模板.xlsx"
SHEET_TITLE = "联系人"
HEADER_ROWS_SEARCHED = 10  # the header is within the first rows; a title or a note may sit above it

# The columns as written, and every name an office's own sheet may give them (compared after
# `_header_key`: no spaces, no "*", no bracketed remark, lower case).
COLUMNS: dict[str, str] = {
    "unit": "单位",
    "name": "联系人",
    "phone": "电话",
    "emails": "邮箱",
    "wecom_user": "企业微信账号",
    "role": "角色",
}
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "unit": ("单位", "单位名称", "推荐单位", "推荐单位名称", "单位全称"),
    "name": ("联系人", "姓名", "联系人姓名"),
    "phone": ("电话", "联系电话", "手机", "手机号", "手机号码", "电话号码"),
    "emails": ("邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址", "email", "e-mail", "mail"),
    "wecom_user": ("企业微信账号", "企业微信", "企业微信id", "企业微信账号id", "userid", "企业微信userid"),
    "role": ("角色", "职务"),
}
REQUIRED = ("unit", "name")
WIDTHS = {"unit": 30, "name": 12, "phone": 18, "emails": 40, "wecom_user": 18, "role": 12}
LABEL_WIDTHS = {COLUMNS[key]: width for key, width in WIDTHS.items()}  # a blank template's columns

_ADDRESS_SEPARATORS = re.compile(r"[;；,，、/\s]+")
_ANGLED = re.compile(r"<([^<>]*)>")
_ADDRESS = re.compile(
    r"^[a-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$"
)
_BRACKETED = re.compile(r"[（(【\[].*?[）)】\]]")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff·• ]+")


class ContactSheetError(ValueError):
    """A file that cannot be read as a contact sheet; the message is for the clerk, in Chinese."""


class ContactRow(BaseModel):
    """One contact as the sheet gives it: `row` is the row number the office sees in Excel."""

    row: int = 0
    unit: str
    name: str
    phone: str | None = None
    emails: list[str] = []
    wecom_user: str | None = None
    role: str = ""
    problems: list[str] = []  # why this row cannot be taken, each a short Chinese reason


class ContactSheet(BaseModel):
    sheet: str  # the worksheet the contacts were read from
    header_row: int
    rows: list[ContactRow]


# ---- cells ---------------------------------------------------------------------------------


def clean_text(value: Any) -> str:
    """A cell as text: a whole number Excel stored as a float without its ".0", full-width spaces
    and no-break spaces as spaces, runs of whitespace as one, nothing around it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


def clean_name(value: Any) -> str:
    """A person's name: a Chinese name padded to line up ("王　芳") loses its padding."""
    text = clean_text(value)
    return text.replace(" ", "") if _CJK_NAME.fullmatch(text) else text


def clean_phone(value: Any) -> str | None:
    """A phone number as typed (full-width digits made plain), or None."""
    return unicodedata.normalize("NFKC", clean_text(value)).strip() or None


def clean_wecom_user(value: Any) -> str | None:
    return unicodedata.normalize("NFKC", clean_text(value)).replace(" ", "") or None


def is_address(text: str) -> bool:
    """A syntactically plausible mail address (local@domain.tld), nothing around it."""
    _, parsed = parseaddr(text)
    return parsed == text and bool(_ADDRESS.match(text.lower()))


def split_addresses(value: Any) -> tuple[list[str], list[str]]:
    """The addresses in one cell (separated by ; ， 、 / spaces or lines; "姓名 <a@b.cn>" too),
    as (good ones lower-cased in order, each once; malformed ones as written)."""
    text = unicodedata.normalize("NFKC", clean_text(value)).replace("。", ".")  # ＠ ． and 。 typed by an IME
    tokens = _ADDRESS_SEPARATORS.split(_ANGLED.sub(r" \1 ", text))
    if _ANGLED.search(text):  # "张三 <a@b.cn>": the bracketed part is the address, the rest a display name
        tokens = [t for t in tokens if "@" in t]
    good: list[str] = []
    bad: list[str] = []
    for token in tokens:
        token = token.strip().removeprefix("mailto:").strip("<>\"'")
        if not token:
            continue
        if is_address(token):
            if token.lower() not in good:
                good.append(token.lower())
        else:
            bad.append(token)
    return good, bad


def _header_key(value: Any) -> str:
    text = unicodedata.normalize("NFKC", clean_text(value))
    text = _BRACKETED.sub("", text)
    return re.sub(r"\s+", "", text).strip("*：:").lower()


_HEADER_LOOKUP = {name.lower(): key for key, names in HEADER_NAMES.items() for name in names}


# ---- reading -------------------------------------------------------------------------------


def _columns(row: list[Any]) -> dict[str, int] | None:
    """The column of each field in a header row (the first of each), or None when it is not one."""
    found: dict[str, int] = {}
    for index, value in enumerate(row):
        key = _HEADER_LOOKUP.get(_header_key(value))
        if key is not None and key not in found:
            found[key] = index
    return found if all(k in found for k in REQUIRED) else None


def _sheets(data: bytes, filename: str) -> list[Sheet]:
    """The workbook's grids (merged cells filled with their top-left value); .xlsx and .xls."""
    label = f"“{filename}”" if filename else "该文件"
    with tempfile.TemporaryDirectory(prefix="nomdesk-contacts-") as tmp:
        path = Path(tmp) / "contacts"
        path.write_bytes(data)
        kind = sniff(path, filename or "contacts.xlsx")
        try:
            if kind == "xlsx":
                return read_xlsx(path)
            if kind in ("xls", "et"):
                return read_xls(path)
        except Exception as exc:  # a damaged workbook: the clerk re-saves it, the desk does not fall over
            raise ContactSheetError(f"{label}无法打开，可能已损坏；请用 Excel 或 WPS 另存为 .xlsx 后再导入") from exc
    if kind == "ods":
        raise ContactSheetError(f"{label}是 OpenDocument 表格；请用 Excel 或 WPS 另存为 .xlsx 后再导入")
    raise ContactSheetError(f"{label}不是 Excel 表格；请导入 .xlsx 格式的联系人表（可用 nomdesk templates 生成模板）")


def _is_note(cells: list[str]) -> bool:
    """A merged title or note row: one text repeated over every filled cell."""
    filled = [c for c in cells if c]
    return len(filled) >= 2 and len(set(filled)) == 1


def _row(number: int, raw: list[Any], columns: dict[str, int]) -> ContactRow | None:
    def cell(key: str) -> Any:
        index = columns.get(key)
        return raw[index] if index is not None and index < len(raw) else None

    cells = [clean_text(cell(key)) for key in COLUMNS]
    if not any(cells) or _is_note(cells):
        return None
    if _columns([cell(key) for key in COLUMNS]) is not None:
        return None  # the header repeated (a sheet pasted under another)
    unit, name = clean_text(cell("unit")), clean_name(cell("name"))
    emails, bad = split_addresses(cell("emails"))
    problems = []
    if not unit:
        problems.append("没有填写单位")
    if not name:
        problems.append("没有填写联系人姓名")
    problems += [f"邮箱“{b}”格式不正确" for b in bad]
    return ContactRow(
        row=number,
        unit=unit,
        name=name,
        phone=clean_phone(cell("phone")),
        emails=emails,
        wecom_user=clean_wecom_user(cell("wecom_user")),
        role=clean_text(cell("role")),
        problems=problems,
    )


def read_contact_sheet(data: bytes, filename: str = "") -> ContactSheet:
    """The contacts of the first worksheet that has a header row (单位 and 联系人 at least, in its
    first rows). A ContactSheetError (a ValueError) when the file is no spreadsheet or has no header."""
    for sheet in _sheets(data, filename):
        for index, raw in enumerate(sheet.grid[:HEADER_ROWS_SEARCHED]):
            columns = _columns(raw)
            if columns is None:
                continue
            rows = [_row(index + 2 + n, r, columns) for n, r in enumerate(sheet.grid[index + 1 :])]
            found = [r for r in rows if r is not None]
            _mark_repeated_addresses(found)
            return ContactSheet(sheet=sheet.name, header_row=index + 1, rows=found)
    label = f"“{filename}”" if filename else "该表格"
    raise ContactSheetError(
        f"{label}的前 {HEADER_ROWS_SEARCHED} 行中没有找到表头：需要“单位”和“联系人”两列，"
        "以及“电话”“邮箱”“企业微信账号”中用得到的几列（可用 nomdesk templates 生成模板）"
    )


def _mark_repeated_addresses(rows: list[ContactRow]) -> None:
    """An address on two rows would end on whichever came last: the later row is a problem."""
    first: dict[str, int] = {}
    for row in rows:
        for address in row.emails:
            if address in first:
                row.problems.append(f"邮箱“{address}”与第 {first[address]} 行重复")
            else:
                first[address] = row.row


# ---- writing -------------------------------------------------------------------------------


def _text(ws: Worksheet, row: int, column: int, value: str) -> Cell:
    """A cell that holds `value` as text, whatever it starts with (never a formula)."""
    return put(ws, row, column, value)


def _sheet(ws: Worksheet, first_row: int) -> None:
    """Header at `first_row`, bold; `finish_sheet` then sizes, freezes and filters it."""
    ws.title = SHEET_TITLE
    for column, label in enumerate(COLUMNS.values(), start=1):
        _text(ws, first_row, column, label).font = Font(bold=True)


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def contacts_xlsx(rows: Iterable[ContactRow]) -> bytes:
    """The contact sheet: a header row, then a row per contact (addresses joined by "; ")."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    _sheet(ws, 1)
    for n, contact in enumerate(rows, start=2):
        values = {
            "unit": contact.unit,
            "name": contact.name,
            "phone": contact.phone or "",
            "emails": "; ".join(contact.emails),
            "wecom_user": contact.wecom_user or "",
            "role": contact.role,
        }
        for column, key in enumerate(COLUMNS, start=1):
            if values[key]:
                _text(ws, n, column, values[key])
    finish_sheet(ws, at_least=LABEL_WIDTHS)
    return _save(wb)


TEMPLATE_NOTES = (
    ("单位", "必填。推荐单位全称（如“长春市教育局”）或常用简称（如“长春市”），见右侧单位名单"),
    ("联系人", "必填。联系人姓名；同一单位有几位联系人就填几行"),
    ("电话", "选填。手机或座机，如 0431-82857798"),
    ("邮箱", "选填。报送材料所用邮箱；一人有几个邮箱时用分号隔开"),
    ("企业微信账号", "选填。企业微信的账号（UserID），用于企业微信提醒"),
    ("角色", "选填。如 负责人、经办人"),
)


def contacts_template_xlsx(unit_names: Sequence[str] = ()) -> bytes:
    """The blank sheet the office fills: title, header, phone and account columns typed as text
    (so Excel keeps leading zeros), and a 填写说明 sheet with the campaign's unit names."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    _text(ws, 1, 1, "联系人名单").font = Font(bold=True, size=16)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    ws["A1"].alignment = Alignment(horizontal="center")
    _sheet(ws, 2)
    keys = list(COLUMNS)
    for key in ("phone", "wecom_user", "emails"):
        letter = get_column_letter(keys.index(key) + 1)
        for row in range(3, 203):
            ws[f"{letter}{row}"].number_format = "@"
    finish_sheet(ws, header_row=2, at_least=LABEL_WIDTHS)
    notes = wb.create_sheet("填写说明")
    _text(notes, 1, 1, "列").font = Font(bold=True)
    _text(notes, 1, 2, "填写要求").font = Font(bold=True)
    for n, (label, note) in enumerate(TEMPLATE_NOTES, start=2):
        _text(notes, n, 1, label)
        _text(notes, n, 2, note)
    _text(notes, 1, 4, "本次活动的单位全称").font = Font(bold=True)
    for n, name in enumerate(unit_names, start=2):
        _text(notes, n, 4, name)
    finish_sheet(notes)
    return _save(wb)


def write_contact_template(directory: Path, campaign: Campaign | None = None) -> Path:
    """Write 联系人导入模板.xlsx into `directory` (created if needed) and return its path."""
    campaign = campaign or load_campaign()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONTACT_TEMPLATE_FILE
    path.write_bytes(contacts_template_xlsx([u.name for u in campaign.units]))
    return path
