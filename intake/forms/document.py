"""The entry point: what a document file is (a register, a form, a summary) and what it says.

Content decides, the file name only breaks ties: a sheet with a register header is a
register whatever it is called; a Word file with 附表1 labels is a form; a document that
is neither is a work summary when its path says so (工作总结) or when it is long prose.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from config import Campaign
from intake.forms.convert import ConversionError, convert, convert_all, convert_to_docx
from intake.forms.grid import Sheet, read_xls, read_xlsx
from intake.forms.register import read_register
from intake.forms.summary import count_chars, decode_text, make_summary, read_pdf_text
from intake.forms.word import PROJECT, STAR, document_text, project_form, read_forms, star_form, table_grids
from intake.models import FileKind, FileProblem, PackageFile, ProjectForm, RegisterTable, StarForm, Summary

log = logging.getLogger(__name__)

DOCUMENT_TYPES = ("xlsx", "xls", "et", "ods", "docx", "doc", "wps", "rtf", "odt", "pdf", "txt")
BIFF_TYPES = ("xls", "et")  # read with xlrd; xlsx (and .ods converted to xlsx) with openpyxl
# Read through LibreOffice (convert.py): Word 97 (.doc, Kingsoft .wps), RTF, OpenDocument.
CONVERTED_TYPES = ("doc", "wps", "rtf", "odt", "ods")
# Kingsoft WPS 表格 (.et) is BIFF inside as often as not: read it as .xls, else say what it is.
WPS_SHEET_UNREADABLE = "这是 WPS 表格专有格式（.et）；如为登记表，请在 WPS 中“另存为” Excel 工作簿（.xlsx）后重新发送"
SUMMARY_WORDS = ("总结", "工作报告", "汇报材料")
NOT_SUMMARY_WORDS = ("函", "通知", "目录", "清单", "承诺", "证明", "推荐表", "登记表", "附表")
# A PDF with fewer characters than this in its text layer is a scan.
SCAN_MAX_CHARS = 20
MIN_FORM_LABELS = 3  # labels found before a table counts as a form
MIN_INLINE_FORM_LABELS = 6  # the same for "label：value" paragraphs only (prose has colons too)

_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")


class DocumentResult(BaseModel):
    kind: FileKind
    registers: list[RegisterTable] = []
    star_forms: list[StarForm] = []
    project_forms: list[ProjectForm] = []
    summary: Summary | None = None
    problems: list[FileProblem] = []


class _Unreadable(Exception):
    def __init__(self, reason: str, code: str = "FILE_UNREADABLE") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


Converted = Path | ConversionError  # a legacy file converted ahead (convert_legacy), or why not


def convert_legacy(files: Sequence[PackageFile], workdir: Path) -> dict[Path, Converted]:
    """Convert a package's legacy documents in one LibreOffice run, before they are read.

    Keyed by `PackageFile.local`; `read_document(..., converted=...)` takes the entry. A file
    left out (encrypted: it is refused unread) or a failure of the whole step (logged) falls
    back to the reader converting that file alone, as before.
    """
    wanted = [f for f in files if f.sniffed in CONVERTED_TYPES and not _encrypted(f.local)]
    if not wanted:
        return {}
    try:
        results = convert_all([(f.local, f".{f.sniffed}") for f in wanted], workdir)
    except Exception as exc:  # a copy that failed, a full disk: each file is tried alone later
        log.warning("batch conversion failed: %s", type(exc).__name__)
        return {}
    return {f.local: r for f, r in zip(wanted, results, strict=True)}


def read_document(
    file: PackageFile, workdir: Path, campaign: Campaign, *, converted: Converted | None = None
) -> DocumentResult:
    """Read one document file; never raises (a failure is a FileProblem in the result).

    `converted` is this file's entry of `convert_legacy`, when the package converted it ahead.
    """
    try:
        return _read(file, workdir, campaign, converted)
    except ConversionError as exc:
        return _problem(file, exc.code, exc.reason)
    except _Unreadable as exc:
        return _problem(file, exc.code, exc.reason)
    except Exception as exc:  # a reader library choking on a hostile or broken file
        log.warning("cannot read %s (%s): %s", file.name, file.sniffed, type(exc).__name__)
        return _problem(file, "FILE_UNREADABLE", _broken_reason(file.sniffed))


def _problem(file: PackageFile, code: str, reason: str) -> DocumentResult:
    problem = FileProblem(code=code, path=file.path, reason=reason, submission=file.submission)
    return DocumentResult(kind=FileKind.OTHER, problems=[problem])


_EXCEL_BROKEN = "Excel 文件已损坏或不完整，无法打开"
_WORD_BROKEN = "Word 文件已损坏或不完整，无法打开"


def _broken_reason(sniffed: str) -> str:
    """Named after what the clerk sent (a Word or Excel file), never the zip an Office file is inside."""
    if sniffed in ("xlsx", "xls", "et", "ods"):
        return _EXCEL_BROKEN
    if sniffed in ("docx", "doc", "wps", "rtf", "odt"):
        return _WORD_BROKEN
    if sniffed == "pdf":
        return "PDF 文件已损坏或不完整，无法打开"
    return "文件已损坏或不完整，无法打开"


def _read(file: PackageFile, workdir: Path, campaign: Campaign, ahead: Converted | None = None) -> DocumentResult:
    sniffed = file.sniffed
    if sniffed in ("xlsx", "docx"):
        _refuse_bloated(file.local, campaign.limits.max_office_xml_bytes)
    if sniffed in ("xlsx", "xls", "et"):
        return _read_workbook(file, file.local)
    if sniffed == "ods":
        converted = _ahead(ahead) or convert(file.local, workdir, label=".ods", target="xlsx")
        try:
            _refuse_bloated(converted, campaign.limits.max_office_xml_bytes)
            return _read_workbook(file, converted)
        finally:
            converted.unlink(missing_ok=True)
    if sniffed == "docx":
        return _read_docx(file, file.local, campaign)
    if sniffed in ("doc", "wps", "rtf", "odt"):
        _refuse_encrypted(file.local)
        converted = _ahead(ahead) or convert_to_docx(file.local, workdir, label=f".{sniffed}")
        try:
            return _read_docx(file, converted, campaign)
        finally:
            converted.unlink(missing_ok=True)
    if sniffed == "pdf":
        return _read_pdf(file, campaign)
    if sniffed == "txt":
        text = decode_text(file.local.read_bytes())
        if text is None:
            raise _Unreadable("文本文件的编码无法识别，请另存为 UTF-8 或 .docx 后重新发送")
        return _prose(file, text, campaign)
    return DocumentResult(kind=FileKind.OTHER)


def _ahead(ahead: Converted | None) -> Path | None:
    """The file converted ahead, if any; the reason it could not be, raised as it would be here."""
    if isinstance(ahead, ConversionError):
        raise ahead
    return ahead


def _refuse_bloated(path: Path, limit: int) -> None:
    """openpyxl and python-docx build the whole XML tree in memory (a 100,000-row sheet took
    350 MB): a form whose XML unpacks to more than the configured limit is not parsed."""
    try:
        with zipfile.ZipFile(path) as zf:
            size = sum(i.file_size for i in zf.infolist() if i.filename.endswith((".xml", ".rels")))
    except (zipfile.BadZipFile, OSError):
        return  # the reader says what is wrong with it
    if size > limit:
        raise _Unreadable(
            f"文件内容过大（表格或文档数据解压后 {size // (1 << 20)} MB，上限 {limit // (1 << 20)} MB），"
            "可能误存了大量空行或整页复制的内容，请删除多余内容后重新保存发送"
        )


def _refuse_encrypted(path: Path) -> None:
    if _encrypted(path):
        raise _Unreadable("文件设有打开密码，无法读取，请取消密码后重新发送")


def _encrypted(path: Path) -> bool:
    """An Office file with an open password is an OLE container holding "EncryptedPackage"."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return False  # the reader says what is wrong with it
    return head.startswith(b"\xd0\xcf\x11\xe0") and _ENCRYPTED_OOXML in head


def _read_workbook(file: PackageFile, local: Path) -> DocumentResult:
    _refuse_encrypted(local)
    try:
        sheets: list[Sheet] = read_xls(local) if file.sniffed in BIFF_TYPES else read_xlsx(local)
    except zipfile.BadZipFile as exc:
        raise _Unreadable(_EXCEL_BROKEN) from exc
    except Exception as exc:
        if "encrypt" in str(exc).lower():
            raise _Unreadable("文件设有打开密码，无法读取，请取消密码后重新发送") from exc
        if file.sniffed == "et":  # WPS's own format, not BIFF: for the office, not a broken file
            raise _Unreadable(WPS_SHEET_UNREADABLE, code="FILE_UNSUPPORTED") from exc
        raise
    registers = [t for sheet in sheets if (t := read_register(sheet.grid, file.path, file.submission))]
    if not registers:
        return DocumentResult(kind=FileKind.DOCUMENT)
    return DocumentResult(kind=registers[0].kind, registers=registers)


def _read_docx(file: PackageFile, local: Path, campaign: Campaign) -> DocumentResult:
    import docx

    try:
        document = docx.Document(str(local))
    except zipfile.BadZipFile as exc:
        raise _Unreadable(_WORD_BROKEN) from exc
    except KeyError as exc:  # a zip without word/document.xml
        raise _Unreadable(_WORD_BROKEN) from exc
    forms = read_forms(document)
    stars = [
        star_form(f, file.path, file.submission)
        for f in forms[STAR]
        if len(f.values) >= (MIN_FORM_LABELS if f.from_table else MIN_INLINE_FORM_LABELS)
    ]
    projects = [
        project_form(f, file.path, file.submission)
        for f in forms[PROJECT]
        if len(f.values) >= (MIN_FORM_LABELS if f.from_table else MIN_INLINE_FORM_LABELS)
    ]
    if stars or projects:
        kind = FileKind.STAR_FORM if len(stars) >= len(projects) else FileKind.PROJECT_FORM
        return DocumentResult(kind=kind, star_forms=stars, project_forms=projects)
    registers = [t for grid in table_grids(document) if (t := read_register(grid, file.path, file.submission))]
    if registers:
        return DocumentResult(kind=registers[0].kind, registers=registers)
    return _prose(file, document_text(document), campaign)


def _read_pdf(file: PackageFile, campaign: Campaign) -> DocumentResult:
    try:
        text = read_pdf_text(file.local)
    except PermissionError as exc:
        raise _Unreadable("PDF 文件设有密码，无法读取，请取消密码后重新发送") from exc
    if count_chars(text) < SCAN_MAX_CHARS:
        # A scan (often the stamped paper form): nothing to read, nothing wrong; the office looks.
        return DocumentResult(kind=FileKind.DOCUMENT)
    return _prose(file, text, campaign)


def _prose(file: PackageFile, text: str, campaign: Campaign) -> DocumentResult:
    """A document that is no form: a work summary by its path, else by its length."""
    if is_summary(file.path, text, campaign):
        return DocumentResult(kind=FileKind.SUMMARY, summary=make_summary(text, file.path, file.submission))
    return DocumentResult(kind=FileKind.DOCUMENT)


def is_summary(path: str, text: str, campaign: Campaign) -> bool:
    """A summary by its path ("工作总结"), else long prose: half the summary's minimum length or more."""
    if any(word in path for word in SUMMARY_WORDS):
        return True
    name = path.rsplit("/", 1)[-1]
    if any(word in name for word in NOT_SUMMARY_WORDS):
        return False
    return count_chars(text) >= campaign.project.summary.min_chars // 2
