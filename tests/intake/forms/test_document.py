"""read_document as intake calls it: summaries, broken and hostile files, legacy formats, the samples."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from intake.forms.convert import soffice_binary
from intake.models import FileKind
from tests.support.forms import cached, star_forms_docx, summary_docx, summary_txt, text_pdf

PARAGRAPHS = [
    "“书香南关”全民阅读推广行动创办于2015年，面向辖区居民开展读书会、讲座等学习活动。",
    "项目建立了稳定的经费保障机制，形成了一支专兼职结合的教师队伍。\u3000年参与学习3000人。",
]
CHARS = sum(len("".join(p.split())) for p in PARAGRAPHS)
TITLE = "工作总结"


def test_summary_docx_counts_characters_other_than_whitespace(read: Any) -> None:
    path = cached(summary_docx, ".docx", title=TITLE, paragraphs=PARAGRAPHS)
    result = read(path, "docx", "材料/书香南关/书香南关工作总结.docx")
    assert result.kind is FileKind.SUMMARY
    assert result.summary is not None
    assert result.summary.chars == CHARS + len(TITLE)
    assert result.summary.text_head.startswith("工作总结 “书香南关”")
    assert result.summary.path == "材料/书香南关/书香南关工作总结.docx"


def test_summary_by_folder_name(read: Any) -> None:
    path = cached(summary_docx, ".docx", title="书香南关", paragraphs=PARAGRAPHS)
    assert read(path, "docx", "书香南关/工作总结/材料.docx").kind is FileKind.SUMMARY


def test_short_unnamed_prose_is_a_document(read: Any) -> None:
    path = cached(summary_docx, ".docx", title="报送说明", paragraphs=PARAGRAPHS[:1])
    result = read(path, "docx", "报送说明.docx")
    assert result.kind is FileKind.DOCUMENT
    assert result.summary is None


def test_long_unnamed_prose_is_a_summary(read: Any) -> None:
    path = cached(summary_docx, ".docx", title="书香南关", paragraphs=PARAGRAPHS * 20)
    result = read(path, "docx", "书香南关/材料.docx")
    assert result.kind is FileKind.SUMMARY


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_summary_txt_in_any_encoding(encoding: str, read: Any) -> None:
    text = "\n".join(PARAGRAPHS)
    path = cached(summary_txt, ".txt", text=text, encoding=encoding)
    result = read(path, "txt", "书香南关工作总结.txt")
    assert result.kind is FileKind.SUMMARY
    assert result.summary.chars == CHARS
    assert result.summary.text_head.startswith("“书香南关”")


def test_summary_pdf_with_a_text_layer(read: Any) -> None:
    path = cached(text_pdf, ".pdf", lines=[TITLE, *PARAGRAPHS])
    result = read(path, "pdf", "书香南关工作总结.pdf")
    assert result.kind is FileKind.SUMMARY
    assert result.summary.chars == CHARS + len(TITLE)


def test_scanned_pdf_is_a_document_without_problem(read: Any) -> None:
    path = cached(text_pdf, ".pdf", lines=[])
    result = read(path, "pdf", "附表1 盖章扫描件.pdf")
    assert result.kind is FileKind.DOCUMENT
    assert result.problems == []


@pytest.mark.parametrize(
    ("sniffed", "reason"),
    [
        ("xlsx", "Excel 文件已损坏或不完整，无法打开"),
        ("docx", "Word 文件已损坏或不完整，无法打开"),
        ("pdf", "PDF 文件已损坏或不完整，无法打开"),
    ],
)
def test_corrupt_files_are_unreadable(sniffed: str, reason: str, tmp_path: Path, read: Any) -> None:
    path = tmp_path / f"附表.{sniffed}"
    if sniffed == "pdf":
        path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n%%EOF garbage")
    else:
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)  # a zip header and nothing behind it
    result = read(path, sniffed)
    (problem,) = result.problems
    assert problem.code == "FILE_UNREADABLE"
    assert problem.reason == reason
    assert problem.path == path.name


def test_truncated_xlsx_is_unreadable(tmp_path: Path, read: Any) -> None:
    from tests.support.forms import register_xlsx

    good = cached(register_xlsx, ".xlsx", kind="stars", rows=[{"name": "张三"}])
    data = good.read_bytes()
    path = tmp_path / "附表2.xlsx"
    path.write_bytes(data[: len(data) // 2])
    (problem,) = read(path, "xlsx").problems
    assert problem.code == "FILE_UNREADABLE"
    assert problem.reason == "Excel 文件已损坏或不完整，无法打开"  # the clerk sent an Excel file, not a zip


def test_truncated_docx_is_an_unreadable_word_file(tmp_path: Path, read: Any) -> None:
    from intake.sniff import sniff

    good = cached(star_forms_docx, ".docx", persons=[{"name": "金哲洙", "birth": "1968.03"}])
    data = good.read_bytes()
    path = tmp_path / "金哲洙推荐表.docx"
    path.write_bytes(data[: len(data) // 2])
    (problem,) = read(path, sniff(path)).problems
    assert (problem.code, problem.reason) == ("FILE_UNREADABLE", "Word 文件已损坏或不完整，无法打开")


STAR_ROWS = [
    {"name": "金哲洙", "gender": "男", "birth": "1968.03", "employer_title": "公交公司", "phone": "13967686483"}
]


@pytest.mark.parametrize("name", ["附表2.xls", "附表2.et", "附表2", "附表2.XLSX", "附表2.xlsm"])
def test_an_xlsx_under_any_name_is_read(name: str, tmp_path: Path, read: Any) -> None:
    """openpyxl refuses a path not ending in .xlsx: the workbook is read by its sniffed content."""
    from intake.sniff import sniff
    from tests.support.forms import register_xlsx

    path = tmp_path / name
    shutil.copyfile(cached(register_xlsx, ".xlsx", kind="stars", rows=STAR_ROWS), path)
    assert sniff(path) == "xlsx"
    result = read(path, "xlsx")
    assert result.problems == []
    assert result.kind is FileKind.REGISTER_STARS
    assert [r.name for r in result.registers[0].star_rows] == ["金哲洙"]


def test_a_legacy_xls_saved_as_wps_et_is_read(tmp_path: Path, read: Any) -> None:
    from intake.sniff import sniff
    from tests.support.forms import register_xls

    path = tmp_path / "附表2 百姓学习之星推荐登记表.et"
    shutil.copyfile(cached(register_xls, ".xls", kind="stars", rows=STAR_ROWS), path)
    assert sniff(path) == "et"
    result = read(path, "et")
    assert result.problems == []
    assert [r.name for r in result.registers[0].star_rows] == ["金哲洙"]


def test_a_wps_et_in_its_own_format_is_for_the_office(tmp_path: Path, read: Any) -> None:
    """A compound file without a BIFF workbook stream (WPS's own .et): named as such, never "damaged"."""
    from intake.sniff import sniff
    from tests.support.forms import register_xls

    data = cached(register_xls, ".xls", kind="stars", rows=STAR_ROWS).read_bytes()
    data = data.replace("Workbook".encode("utf-16-le"), "WpsSheet".encode("utf-16-le"))
    path = tmp_path / "附表2 百姓学习之星推荐登记表.et"
    path.write_bytes(data)
    assert sniff(path) == "et"
    (problem,) = read(path, "et").problems
    assert problem.code == "FILE_UNSUPPORTED"
    assert "WPS 表格" in problem.reason and ".xlsx" in problem.reason
    assert "损坏" not in problem.reason


def test_password_protected_office_file(tmp_path: Path, read: Any) -> None:
    # The container an Office open password produces: OLE2 holding an "EncryptedPackage" stream.
    path = tmp_path / "附表2.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le"))
    (problem,) = read(path, "xls").problems
    assert problem.code == "FILE_UNREADABLE"
    assert "密码" in problem.reason


def _with_entity(source: Path, target: Path, member: str, secret: Path, marker: str) -> None:
    """Copy an Office file, declaring an external entity in `member` and using it where `marker` is."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == member:
                text = data.decode()
                head, rest = text.split("?>", 1)
                doctype = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
                data = (head + "?>" + doctype + rest.replace(marker, "&xxe;", 1)).encode()
            zout.writestr(item, data)


def test_external_entities_are_not_resolved_docx(tmp_path: Path, read: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    source = cached(star_forms_docx, ".docx", persons=[{"name": "张三", "story": "MARKER"}])
    target = tmp_path / "evil.docx"
    _with_entity(source, target, "word/document.xml", secret, "MARKER")
    result = read(target, "docx")
    assert "TOPSECRET" not in result.model_dump_json()


def test_external_entities_are_not_resolved_xlsx(tmp_path: Path, read: Any) -> None:
    from tests.support.forms import register_xlsx

    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    source = cached(register_xlsx, ".xlsx", kind="stars", rows=[{"name": "张三", "intro": "MARKER"}])
    target = tmp_path / "evil.xlsx"
    _with_entity(source, target, "xl/sharedStrings.xml", secret, "MARKER")
    result = read(target, "xlsx")
    assert "TOPSECRET" not in result.model_dump_json()


def test_doc_without_libreoffice_is_unsupported(tmp_path: Path, read: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without LibreOffice
    path = tmp_path / "推荐表.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    for sniffed in ("doc", "wps"):
        result = read(path, sniffed)
        (problem,) = result.problems
        assert problem.code == "FILE_UNSUPPORTED"
        assert problem.reason == f"未安装 LibreOffice，无法读取 .{sniffed} 文件，请另存为 .docx 后重新发送"


def _to_doc(path: Path, version: int) -> None:
    """A real legacy .doc of a 附表1: the docx fixture converted by LibreOffice.

    Through .odt: LibreOffice 7.4 drops python-docx tables when it writes .doc straight from .docx.
    """
    source = cached(star_forms_docx, ".docx", persons=[{"name": "朴英子", "birth": "1985-1", "phone": "18997472321"}])
    work = path.parent / f"{path.stem}-build"
    work.mkdir()
    binary = soffice_binary()
    assert binary
    profile = f"-env:UserInstallation={(work / 'p').as_uri()}"
    current = source
    for target in ("odt", "doc"):
        subprocess.run(
            [binary, profile, "--headless", "--convert-to", target, "--outdir", str(work / target), str(current)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        current = next((work / target).glob(f"*.{target}"))
    shutil.move(current, path)
    shutil.rmtree(work)


@pytest.mark.skipif(soffice_binary() is None, reason="LibreOffice is not installed")
def test_doc_is_converted_and_read(read: Any) -> None:
    path = cached(_to_doc, ".doc", version=3)
    result = read(path, "doc", "朴英子推荐表.doc")
    assert result.problems == []
    assert result.kind is FileKind.STAR_FORM
    (form,) = result.star_forms
    assert (form.fields.name, form.fields.birth, form.fields.phone) == ("朴英子", "1985-1", "18997472321")
    assert form.fields.unit_line == "延边朝鲜族自治州教育局"
    assert form.missing_labels == []
    assert result.star_forms[0].path == "朴英子推荐表.doc"


@pytest.mark.skipif(soffice_binary() is None, reason="LibreOffice is not installed")
def test_garbage_doc_is_unreadable(tmp_path: Path, read: Any) -> None:
    path = tmp_path / "坏.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x13" * 4096)
    result = read(path, "doc")
    (problem,) = result.problems
    assert problem.code == "FILE_UNREADABLE"


def test_register_1984_1_is_october_when_the_form_says_1984_10(tmp_path: Path, campaign: Campaign) -> None:
    """Excel keeps "1984.10" typed into a number cell as 1984.1; the person's 附表1 tells January from October."""
    from nomdesk.check import check_paths
    from tests.support.forms import register_xlsx

    rows = [
        {"name": "丁卫东", "gender": "男", "birth": 1984.1, "employer_title": "网店店主", "phone": 13943844100},
        {"name": "宋丽萍", "gender": "女", "birth": 1975.1, "employer_title": "养殖户", "phone": "13985827356"},
    ]
    folder = tmp_path / "长白山推荐材料"
    (folder / "百姓学习之星" / "丁卫东").mkdir(parents=True)
    shutil.copyfile(
        cached(register_xlsx, ".xlsx", kind="stars", rows=rows, unit="长白山管委会教育科技局"),
        folder / "附表2 百姓学习之星推荐登记表.xlsx",
    )
    form = {"name": "丁卫东", "gender": "男", "birth": "1984.10", "phone": "13943844100"}
    shutil.copyfile(
        cached(star_forms_docx, ".docx", persons=[form], unit="长白山管委会教育科技局"),
        folder / "百姓学习之星" / "丁卫东" / "丁卫东推荐表.docx",
    )
    (tmp_path / "work").mkdir()
    result = check_paths([folder], campaign, workdir=tmp_path / "work")
    assert result is not None
    ding, song = result.dossier.stars
    assert ding.row.birth == "1984.1"  # as written in the table
    assert (ding.row.birth_parsed.year, ding.row.birth_parsed.month) == (1984, 10)
    assert result.dossier.star_register.star_rows[0].birth_parsed.month == 10
    assert song.form is None and song.row.birth_parsed.month == 1  # no form: the plain reading stands


def test_a_form_whose_xml_exceeds_the_limit_is_not_parsed(tmp_path: Path, campaign: Campaign) -> None:
    """openpyxl and python-docx hold the whole XML tree: past the configured size, the file is refused."""
    from intake.forms.document import read_document
    from intake.models import PackageFile
    from tests.support.forms import register_xlsx

    good = cached(register_xlsx, ".xlsx", kind="stars", rows=[{"name": "张三"}])
    with zipfile.ZipFile(good) as zf:
        xml_bytes = sum(i.file_size for i in zf.infolist() if i.filename.endswith((".xml", ".rels")))
    file = PackageFile(path="附表2.xlsx", local=good, size=good.stat().st_size, sniffed="xlsx")
    tight = campaign.model_copy(
        update={"limits": campaign.limits.model_copy(update={"max_office_xml_bytes": xml_bytes - 1})}
    )
    (problem,) = read_document(file, tmp_path, tight).problems
    assert problem.code == "FILE_UNREADABLE" and "文件内容过大" in problem.reason
    roomy = campaign.model_copy(
        update={"limits": campaign.limits.model_copy(update={"max_office_xml_bytes": xml_bytes})}
    )
    assert read_document(file, tmp_path, roomy).registers  # at the limit it is read
