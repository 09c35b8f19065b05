"""read_source on each kind of input: a folder, a single file, an archive, a mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.models import FileKind
from intake.source import SourceUnreadable, read_source
from tests.support.archives import zip_bytes

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64


def test_folder(tmp_path: Path, campaign: Campaign) -> None:
    root = tmp_path / "延边州推荐材料"
    (root / "百姓学习之星" / "金哲洙").mkdir(parents=True)
    (root / "__MACOSX").mkdir()
    photo = root / "百姓学习之星" / "金哲洙" / "证件照.jpg"
    photo.write_bytes(JPEG)
    (root / "百姓学习之星" / ".DS_Store").write_bytes(b"junk")
    (root / "__MACOSX" / "._证件照.jpg").write_bytes(b"junk")
    (root / "项目.zip").write_bytes(zip_bytes({"阿里郎/照片/活动照片1.jpg": JPEG}))
    work = tmp_path / "work"
    work.mkdir()
    sub = read_source(root, work, campaign, index=1)
    assert sorted(f.path for f in sub.files) == sorted(
        ["项目.zip/阿里郎/照片/活动照片1.jpg", "百姓学习之星/金哲洙/证件照.jpg"]
    )
    local = {f.path: f.local for f in sub.files}
    assert local["百姓学习之星/金哲洙/证件照.jpg"] == photo  # folders are read in place, not copied
    assert local["项目.zip/阿里郎/照片/活动照片1.jpg"].is_relative_to(work)
    assert (root / "项目.zip").exists()  # the original is never touched
    assert all(f.submission == 1 and f.kind == FileKind.OTHER and f.photo is None for f in sub.files)
    assert sub.source == str(root) and sub.sender is None


def test_single_file(tmp_path: Path, campaign: Campaign) -> None:
    photo = tmp_path / "证件照.JPG"
    photo.write_bytes(JPEG)
    sub = read_source(photo, tmp_path / "work", campaign)
    assert [(f.path, f.local, f.size, f.sniffed) for f in sub.files] == [("证件照.JPG", photo, len(JPEG), "jpeg")]


def test_single_archive(tmp_path: Path, campaign: Campaign) -> None:
    archive = tmp_path / "材料.zip"
    archive.write_bytes(zip_bytes({"附表2.xlsx": b"not a workbook", "sub/": b""}))
    sub = read_source(archive, tmp_path / "work", campaign)
    assert [(f.path, f.sniffed) for f in sub.files] == [("材料.zip/附表2.xlsx", "txt")]


def test_local_files_carry_the_extension_of_their_real_type(tmp_path: Path, campaign: Campaign) -> None:
    archive = tmp_path / "a.zip"
    real_zip_named_xls = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})
    archive.write_bytes(zip_bytes({"登记表.xls": real_zip_named_xls, "照片": JPEG}))
    sub = read_source(archive, tmp_path / "work", campaign)
    by_path = {f.path: f for f in sub.files}
    assert by_path["a.zip/登记表.xls"].sniffed == "xlsx"
    assert by_path["a.zip/登记表.xls"].local.suffix == ".xlsx"  # openpyxl refuses other names
    assert by_path["a.zip/照片"].local.suffix == ".jpg"


@pytest.mark.parametrize("content", [b"", None])
def test_nothing_readable_raises(tmp_path: Path, campaign: Campaign, content: bytes | None) -> None:
    path = tmp_path / "1.eml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceUnreadable) as info:
        read_source(path, tmp_path / "work", campaign)
    assert info.value.reason


def test_encrypted_archive_alone_is_a_problem_not_unreadable(tmp_path: Path, campaign: Campaign) -> None:
    from tests.support.archives import seven_zip

    archive = tmp_path / "加密.7z"
    archive.write_bytes(seven_zip({"a.txt": b"x"}, password="pw"))
    sub = read_source(archive, tmp_path / "work", campaign)
    assert [(p.code, p.path) for p in sub.problems] == [("ARCHIVE_ENCRYPTED", "加密.7z")]
