"""Real file types from content, whatever the name says."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest
import xlwt
from PIL import Image

from intake.sniff import sniff
from tests.support.archives import rar_bytes, seven_zip, tar_bytes, zip_bytes
from tests.support.cache import cached_file
from tests.support.mail import build_mail, tnef_bytes
from tests.support.media import make_photo, make_video


def _docx() -> bytes:
    buf = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("附表1 百姓学习之星推荐表")
    document.save(buf)
    return buf.getvalue()


def _xlsx() -> bytes:
    buf = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "附表2"
    workbook.save(buf)
    return buf.getvalue()


def _xls() -> bytes:
    buf = io.BytesIO()
    workbook = xlwt.Workbook()
    workbook.add_sheet("附表2").write(0, 0, "姓名")
    workbook.save(buf)
    return buf.getvalue()


def _pptx_like() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"})


def _doc() -> bytes:
    """A real Word 97 .doc, converted from a .docx by LibreOffice once and cached."""

    def build(path: Path) -> None:
        tmp = path.parent / f"{path.stem}-src"
        tmp.mkdir(exist_ok=True)
        (tmp / "form.docx").write_bytes(_docx())
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "doc", "--outdir", str(tmp), str(tmp / "form.docx")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shutil.move(tmp / "form.doc", path)
        shutil.rmtree(tmp, ignore_errors=True)

    return cached_file("sniff-doc", {"v": 1}, ".doc", build).read_bytes()


def _image(fmt: str) -> Callable[[], bytes]:
    def build() -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), "white").save(buf, format=fmt)
        return buf.getvalue()

    return build


CASES: list[tuple[str, str, Callable[[], bytes]]] = [
    ("zip", "材料.zip", lambda: zip_bytes({"a.txt": b"a"})),
    ("docx", "推荐表.doc", _docx),  # a .docx saved with the old extension
    ("xlsx", "登记表.xls", _xlsx),
    ("xls", "登记表.xlsx", _xls),
    ("pptx", "汇报.pptx", _pptx_like),
    ("rar", "材料.rar", lambda: rar_bytes({"a.txt": b"a"})),
    ("7z", "材料.7z", lambda: seven_zip({"a.txt": b"a"})),
    ("tar", "材料.tar", lambda: tar_bytes({"a.txt": b"a"}, mode="w")),
    ("gzip", "材料.tar.gz", lambda: tar_bytes({"a.txt": b"a"})),
    ("pdf", "总结.pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
    ("jpeg", "照片.png", lambda: make_photo(8, 8).read_bytes()),
    ("png", "照片.jpg", _image("PNG")),
    ("gif", "a.gif", _image("GIF")),
    ("bmp", "a.bmp", _image("BMP")),
    ("webp", "a.webp", _image("WEBP")),
    ("tiff", "a.tif", _image("TIFF")),
    ("heic", "IMG_0001.HEIC", lambda: make_photo(16, 16, fmt="HEIF").read_bytes()),
    ("txt", "说明.txt", lambda: "推荐说明：共八名。\r\n".encode("gbk")),
    ("txt", "readme", lambda: "推荐说明：共八名。\n".encode()),
    ("rtf", "a.rtf", lambda: b"{\\rtf1\\ansi hello}"),
    ("html", "a.htm", lambda: b"<!DOCTYPE html><html><body>hi</body></html>"),
    ("eml", "转发.eml", lambda: build_mail([])),
    ("tnef", "winmail.dat", lambda: tnef_bytes({"a.txt": b"x"})),
    ("unknown", "a.bin", lambda: bytes(range(256)) * 4),
    ("unknown", "empty", lambda: b""),
]

VIDEOS = [
    ("mp4", "mp4", "libx264"),
    ("mov", "mov", "libx264"),  # QuickTime brand: not an MP4 for the call
    ("avi", "avi", "libx264"),
    ("mkv", "mkv", "libx264"),
    ("webm", "webm", "libvpx"),
    ("flv", "flv", "libx264"),
    ("wmv", "wmv", "wmv2"),
    ("mpeg", "mpeg", "mpeg1video"),
]


@pytest.mark.parametrize(("expected", "name", "build"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_sniff(tmp_path: Path, expected: str, name: str, build: Callable[[], bytes]) -> None:
    path = tmp_path / name
    path.write_bytes(build())
    assert sniff(path) == expected


@pytest.mark.parametrize(("expected", "container", "codec"), VIDEOS)
def test_sniff_video(tmp_path: Path, expected: str, container: str, codec: str) -> None:
    source = make_video(0.2, width=64, height=48, container=container, codec=codec)
    renamed = tmp_path / "视频.mp4"  # the name never decides
    shutil.copy(source, renamed)
    assert sniff(renamed) == expected


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_sniff_word_97_and_wps(tmp_path: Path) -> None:
    data = _doc()
    (tmp_path / "推荐表.docx").write_bytes(data)
    (tmp_path / "推荐表.wps").write_bytes(data)
    assert sniff(tmp_path / "推荐表.docx") == "doc"
    assert sniff(tmp_path / "推荐表.wps") == "wps"  # Kingsoft's .wps is a Word 97 file inside


def _truncated(data: bytes) -> bytes:
    """The first half of a file, as a download or copy cut short leaves it (no central directory)."""
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("expected", "data"),
    [
        ("txt", "工作总结\r\n本项目坚持面向群众开展学习活动。".encode("utf-16")),  # Notepad's "Unicode": BOM FF FE
        ("txt", b"\xfe\xff" + "工作总结\r\n本项目坚持面向群众开展学习活动。".encode("utf-16-be")),
    ],
    ids=["utf-16-le", "utf-16-be"],
)
def test_text_with_a_utf16_byte_order_mark_is_text_not_mp3(tmp_path: Path, expected: str, data: bytes) -> None:
    path = tmp_path / "海兰江畔工作总结.txt"
    path.write_bytes(data)
    assert sniff(path) == expected


def test_mpeg_audio_is_still_mp3(tmp_path: Path) -> None:
    frame = b"\xff\xfb\x90\x64" + bytes((i * 37) % 256 for i in range(413))  # an MPEG-1 Layer III frame header
    path = tmp_path / "配乐.mp3"
    path.write_bytes(frame * 8)
    assert sniff(path) == "mp3"


@pytest.mark.parametrize(
    ("expected", "name", "build"),
    [("docx", "金哲洙推荐表.docx", _docx), ("xlsx", "附表2.xlsx", _xlsx), ("xlsx", "附表2.xls", _xlsx)],
)
def test_a_truncated_office_file_is_that_file_not_a_zip(
    tmp_path: Path, expected: str, name: str, build: Callable[[], bytes]
) -> None:
    path = tmp_path / name
    path.write_bytes(_truncated(build()))
    assert sniff(path) == expected


def test_a_truncated_archive_holding_office_files_is_still_an_archive(tmp_path: Path) -> None:
    data = zip_bytes({"延边州/金哲洙推荐表.docx": _docx(), "延边州/附表2.xlsx": _xlsx()})
    path = tmp_path / "材料.zip"
    path.write_bytes(_truncated(data))
    assert sniff(path) == "zip"


@pytest.mark.parametrize(
    ("expected", "name", "build"),
    [("xlsx", "登记表.et", _xlsx), ("xlsx", "登记表", _xlsx), ("et", "登记表.et", _xls)],
    ids=["xlsx-as-et", "xlsx-no-extension", "xls-as-et"],
)
def test_workbooks_under_wps_or_no_extension(
    tmp_path: Path, expected: str, name: str, build: Callable[[], bytes]
) -> None:
    path = tmp_path / name
    path.write_bytes(build())
    assert sniff(path) == expected
