"""read_submission: every file of a package is used or reported, whatever its type or damage."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from config import Campaign
from intake.forms.convert import soffice_binary
from intake.models import FileKind, Submission
from intake.package import read_submission
from tests.support.archives import noise
from tests.support.forms import cached, opendocument
from tests.support.media import make_photo

STAR = "百姓学习之星/金哲洙"


def read_folder(tmp_path: Path, files: dict[str, bytes | Path], campaign: Campaign) -> Submission:
    root = tmp_path / "材料"
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copyfile(data, target)
        else:
            target.write_bytes(data)
    work = tmp_path / "work"
    work.mkdir()
    return read_submission(root, work, campaign)


def problems(sub: Submission) -> dict[str, tuple[str, str]]:
    return {p.path: (p.code, p.reason) for p in sub.problems}


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("金哲洙证件照.jpg", "图片"),
        ("金哲洙推荐表.docx", "Word 文档"),
        ("视频.mp4", "视频"),
        ("登记表.xlsx", "Excel 表格"),
        ("事迹.pdf", "PDF 文件"),
    ],
)
def test_bytes_that_are_not_what_the_extension_says_are_unreadable(
    tmp_path: Path, campaign: Campaign, name: str, claimed: str
) -> None:
    sub = read_folder(tmp_path, {f"{STAR}/{name}": noise(7)}, campaign)
    code, reason = problems(sub)[f"{STAR}/{name}"]
    assert code == "FILE_UNREADABLE"
    assert f"扩展名为 .{name.rsplit('.', 1)[1]}，但内容不是" in reason and claimed in reason


def test_bytes_of_no_type_under_no_known_extension_are_for_the_office(tmp_path: Path, campaign: Campaign) -> None:
    sub = read_folder(tmp_path, {f"{STAR}/说明.dat": noise(8)}, campaign)
    code, reason = problems(sub)[f"{STAR}/说明.dat"]
    assert code == "FILE_UNSUPPORTED"
    # read after "文件 X 的类型无法自动读取：" in the finding: says what is unknown, once
    assert reason.startswith("文件格式无法识别（扩展名 .dat）；")
    assert "无法读取无法识别" not in reason


def test_a_type_the_desk_does_not_read_is_named(tmp_path: Path, campaign: Campaign) -> None:
    page = "<!DOCTYPE html><html><body><table><tr><td>姓名</td></tr></table></body></html>".encode()
    sub = read_folder(tmp_path, {"附表2 百姓学习之星推荐登记表.xls": page}, campaign)
    code, reason = problems(sub)["附表2 百姓学习之星推荐登记表.xls"]
    assert code == "FILE_UNSUPPORTED" and reason.startswith("这是网页文件；")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_summary_is_a_summary_not_audio(encoding: str, tmp_path: Path, campaign: Campaign) -> None:
    """Notepad's "Unicode" .txt starts with FF FE, which looks like an MPEG audio frame sync."""
    text = "“海兰江畔”农民夜校工作总结\n" + "本项目坚持面向群众开展学习活动，成效显著。" * 80
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    sub = read_folder(tmp_path, {"终身学习品牌项目/海兰江畔/海兰江畔工作总结.txt": data}, campaign)
    (file,) = sub.files
    assert (file.sniffed, file.kind) == ("txt", FileKind.SUMMARY)
    assert sub.problems == []
    (summary,) = sub.summaries
    assert summary.text_head.startswith("“海兰江畔”农民夜校工作总结")


@pytest.mark.parametrize(
    "name", ["金哲洙推荐表（盖章扫描件）.jpg", "附表1盖章页.jpg", "推荐表扫描件.png", "盖章页.jpg"]
)
def test_an_image_of_the_stamped_form_is_no_photo(name: str, tmp_path: Path, campaign: Campaign) -> None:
    sub = read_folder(
        tmp_path, {f"{STAR}/{name}": make_photo(1240, 1754, fmt="PNG" if name.endswith("png") else "JPEG")}, campaign
    )
    (file,) = sub.files
    assert file.kind == FileKind.DOCUMENT  # the form's scan, like a scanned PDF
    assert sub.problems == []


@pytest.mark.parametrize("name", ["金哲洙证件照（扫描件）.jpg", "金哲洙生活照.jpg", "盖章仪式合影照片.jpg"])
def test_photos_named_as_photos_stay_photos(name: str, tmp_path: Path, campaign: Campaign) -> None:
    sub = read_folder(tmp_path, {f"延边州申报表及材料/{STAR}/{name}": make_photo(413, 579)}, campaign)
    (file,) = sub.files
    assert file.kind == FileKind.PHOTO


def test_audio_is_no_video(tmp_path: Path, campaign: Campaign) -> None:
    audio = tmp_path / "配乐.m4a"  # what the ipod muxer writes: an MP4 of brand "M4A "
    sound = ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "2", "-c:a", "aac", "-b:a", "8k"]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *sound, "-f", "ipod", str(audio)], check=True)
    sub = read_folder(tmp_path, {f"{STAR}/配乐.m4a": audio}, campaign)
    (file,) = sub.files
    assert file.sniffed == "m4a"
    code, reason = problems(sub)[f"{STAR}/配乐.m4a"]
    assert code == "FILE_UNSUPPORTED" and "音频" in reason


def test_avif_photo_is_read(tmp_path: Path, campaign: Campaign) -> None:
    photo = make_photo(413, 579, fmt="AVIF")
    sub = read_folder(tmp_path, {f"{STAR}/金哲洙证件照.avif": photo}, campaign)
    (file,) = sub.files
    assert sub.problems == []
    assert (file.sniffed, file.kind) == ("avif", FileKind.PHOTO)
    assert (file.photo.width, file.photo.height, file.photo.colour) == (413, 579, True)


needs_libreoffice = pytest.mark.skipif(soffice_binary() is None, reason="LibreOffice is not installed")


@needs_libreoffice
def test_odt_form_is_converted_and_read(tmp_path: Path, campaign: Campaign) -> None:
    person = {"name": "金哲洙", "gender": "男", "birth": "1968.03", "phone": "13967686483"}
    odt = cached(opendocument, ".odt", source="star_forms_docx", persons=[person])
    sub = read_folder(tmp_path, {f"{STAR}/金哲洙推荐表.odt": odt}, campaign)
    assert sub.problems == []
    (form,) = sub.star_forms
    assert (form.fields.name, form.fields.birth, form.fields.phone) == ("金哲洙", "1968.03", "13967686483")
    assert form.path == f"{STAR}/金哲洙推荐表.odt"


@needs_libreoffice
def test_ods_register_is_converted_and_read(tmp_path: Path, campaign: Campaign) -> None:
    rows = [{"name": "金哲洙", "birth": "1968.03", "phone": "13967686483"}, {"name": "朴英子", "birth": "1985.01"}]
    ods = cached(opendocument, ".ods", source="register_xlsx", kind="stars", rows=rows)
    sub = read_folder(tmp_path, {"附表2 百姓学习之星推荐登记表.ods": ods}, campaign)
    assert sub.problems == []
    (table,) = sub.registers
    assert [r.name for r in table.star_rows] == ["金哲洙", "朴英子"]
    assert table.unit_line == "延边朝鲜族自治州教育局"
