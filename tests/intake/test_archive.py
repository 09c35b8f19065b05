"""Archives: names, nesting, safety limits, encryption, damage, every supported format."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.models import Submission
from intake.source import SourceUnreadable, read_source
from tests.support.archives import (
    damage,
    encrypted_zip,
    nested_zip,
    noise,
    overlapping_zip,
    rar_bytes,
    seven_zip,
    tar_bytes,
    truncated,
    zip_bytes,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100


def read(tmp_path: Path, name: str, data: bytes, campaign: Campaign) -> Submission:
    src = tmp_path / name
    src.write_bytes(data)
    work = tmp_path / "work"
    work.mkdir()
    return read_source(src, work, campaign)


def with_limits(campaign: Campaign, **limits: int) -> Campaign:
    return campaign.model_copy(update={"limits": campaign.limits.model_copy(update=limits)})


def paths(sub: Submission) -> list[str]:
    return sorted(f.path for f in sub.files)


def only_problem(sub: Submission) -> tuple[str, str, str, dict]:
    assert len(sub.problems) == 1, sub.problems
    p = sub.problems[0]
    return p.code, p.path, p.reason, p.params


def test_gbk_names_without_utf8_flag_are_decoded(tmp_path: Path, campaign: Campaign) -> None:
    data = zip_bytes({"延边州推荐材料/百姓学习之星/王喆/证件照.jpg": JPEG}, encoding="gbk")
    sub = read(tmp_path, "材料.zip", data, campaign)
    assert paths(sub) == ["材料.zip/延边州推荐材料/百姓学习之星/王喆/证件照.jpg"]
    assert sub.files[0].sniffed == "jpeg"
    assert sub.files[0].local.read_bytes() == JPEG


def test_utf8_names_with_and_without_flag(tmp_path: Path, campaign: Campaign) -> None:
    flagged = zip_bytes({"长白山/照片1.jpg": JPEG})
    unflagged = zip_bytes({"长白山/照片2.jpg": JPEG}, encoding="utf_8")  # UTF-8 bytes, no flag (macOS tools)
    sub = read(tmp_path, "a.zip", zip_bytes({"1.zip": flagged, "2.zip": unflagged}), campaign)
    assert paths(sub) == ["a.zip/1.zip/长白山/照片1.jpg", "a.zip/2.zip/长白山/照片2.jpg"]


def test_backslashes_are_folder_separators(tmp_path: Path, campaign: Campaign) -> None:
    sub = read(tmp_path, "a.zip", zip_bytes({"延边\\照片\\1.jpg": JPEG}, encoding="gbk"), campaign)
    assert paths(sub) == ["a.zip/延边/照片/1.jpg"]


def test_nesting_three_deep_is_allowed(tmp_path: Path, campaign: Campaign) -> None:
    sub = read(tmp_path, "外层.zip", nested_zip(3), campaign)
    assert sub.problems == []
    assert "外层.zip/第1层/内层2.zip/第2层/内层3.zip/第3层/证件照.jpg" in paths(sub)
    assert not any(f.sniffed == "zip" for f in sub.files)  # archives are opened, not listed


def test_nesting_four_deep_is_rejected_but_outer_files_stay(tmp_path: Path, campaign: Campaign) -> None:
    sub = read(tmp_path, "外层.zip", nested_zip(4), campaign)
    code, path, reason, params = only_problem(sub)
    assert code == "ARCHIVE_REJECTED"
    assert path == "外层.zip/第1层/内层2.zip/第2层/内层3.zip/第3层/内层4.zip"
    assert reason == "嵌套 4 层，超过 3 层的上限，未解压"
    assert params == {"limit": 3, "value": 4}
    assert "外层.zip/第1层/说明1.txt" in paths(sub)
    assert not any(p.endswith("证件照.jpg") for p in paths(sub))


@pytest.mark.parametrize("bad", ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt", "C:\\evil.txt", "C:/x.txt"])
def test_escaping_paths_reject_the_archive(tmp_path: Path, campaign: Campaign, bad: str) -> None:
    sub = read(tmp_path, "a.zip", zip_bytes({"ok.txt": b"ok", bad: b"evil"}), campaign)
    code, path, reason, params = only_problem(sub)
    assert (code, path) == ("ARCHIVE_REJECTED", "a.zip")
    # the unit reads what it can do; the office reads why, in the finding's evidence
    assert reason == "内容异常，无法安全解压" and "越出目录" in params["detail"]
    assert sub.files == []
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.zip", zip_bytes({"a.txt": b"x"}, symlinks={"link": "/etc/passwd"})),
        ("a.tar.gz", tar_bytes({"a.txt": b"x"}, symlinks={"link": "/etc/passwd"})),
    ],
)
def test_symlink_entries_reject_the_archive(tmp_path: Path, campaign: Campaign, name: str, data: bytes) -> None:
    sub = read(tmp_path, name, data, campaign)
    code, path, reason, params = only_problem(sub)
    assert (code, path) == ("ARCHIVE_REJECTED", name)
    assert reason == "内容异常，无法安全解压"
    assert params == {"entry": "link", "detail": "压缩包内含符号链接：link"}
    assert sub.files == []


def test_bomb_entry_is_rejected_by_ratio(tmp_path: Path, campaign: Campaign) -> None:
    small = with_limits(campaign, ratio_min_bytes=100_000)
    sub = read(tmp_path, "bomb.zip", zip_bytes({"zeros.bin": b"\0" * 2_000_000}), small)
    code, _, reason, params = only_problem(sub)
    assert code == "ARCHIVE_REJECTED" and reason == "内容异常，无法安全解压" and "压缩比" in params["detail"]
    assert params["limit"] == campaign.limits.max_ratio and params["value"] > campaign.limits.max_ratio
    assert sub.files == []


def test_too_many_entries(tmp_path: Path, campaign: Campaign) -> None:
    few = with_limits(campaign, max_archive_entries=5)
    sub = read(tmp_path, "many.zip", zip_bytes({f"{i}.txt": b"x" for i in range(6)}), few)
    code, _, reason, params = only_problem(sub)
    assert code == "ARCHIVE_REJECTED" and params == {"limit": 5, "value": 6}
    assert "5" in reason


def test_unpacked_bytes_are_capped_per_submission(tmp_path: Path, campaign: Campaign) -> None:
    capped = with_limits(campaign, max_unpacked_bytes=150_000)
    payload = bytes(range(256)) * 400  # 102,400 bytes
    data = zip_bytes({"1.zip": zip_bytes({"a.bin": payload}), "2.zip": zip_bytes({"b.bin": payload})})
    sub = read(tmp_path, "两个.zip", data, capped)
    assert paths(sub) == ["两个.zip/1.zip/a.bin"]
    code, path, reason, params = only_problem(sub)
    assert (code, path) == ("ARCHIVE_REJECTED", "两个.zip/2.zip")
    assert params["limit"] == 150_000 and "解压后超过" in reason


def test_overlapping_entries_are_rejected(tmp_path: Path, campaign: Campaign) -> None:
    sub = read(tmp_path, "o.zip", overlapping_zip(), campaign)
    code, _, reason, params = only_problem(sub)
    assert code == "ARCHIVE_REJECTED" and reason == "内容异常，无法安全解压" and "重叠" in params["detail"]


@pytest.mark.parametrize(
    ("name", "builder"),
    [
        ("e.zip", lambda: encrypted_zip({"a.txt": b"secret text"})),
        ("e.7z", lambda: seven_zip({"a.txt": b"secret text"}, password="pw")),
        ("eh.7z", lambda: seven_zip({"a.txt": b"secret text"}, password="pw", header_encryption=True)),
        ("e.rar", lambda: rar_bytes({"a.txt": b"secret text"}, encrypted=True)),
    ],
)
def test_password_protected_archives(tmp_path: Path, campaign: Campaign, name: str, builder) -> None:
    sub = read(tmp_path, name, builder(), campaign)
    code, path, reason, _ = only_problem(sub)
    assert (code, path) == ("ARCHIVE_ENCRYPTED", name)
    assert "密码" in reason


def test_truncated_zip_alone_is_unreadable(tmp_path: Path, campaign: Campaign) -> None:
    data = truncated(zip_bytes({"a.jpg": JPEG * 50, "b.jpg": JPEG * 50}))
    with pytest.raises(SourceUnreadable) as info:
        read(tmp_path, "坏.zip", data, campaign)
    assert "损坏" in info.value.reason


def test_truncated_zip_inside_a_zip_is_a_problem_and_siblings_stay(tmp_path: Path, campaign: Campaign) -> None:
    bad = truncated(zip_bytes({"a.jpg": JPEG * 50, "b.jpg": JPEG * 50}))
    sub = read(tmp_path, "a.zip", zip_bytes({"坏.zip": bad, "好.jpg": JPEG}), campaign)
    assert paths(sub) == ["a.zip/好.jpg"]
    code, path, reason, _ = only_problem(sub)
    assert (code, path) == ("FILE_UNREADABLE", "a.zip/坏.zip") and "损坏" in reason


DAMAGED = noise(2)
THREE = {"材料/金哲洙/证件照.jpg": noise(1), "材料/金哲洙/生活照.jpg": DAMAGED, "材料/说明.txt": noise(3)}


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("a.zip", lambda: damage(zip_bytes(THREE), DAMAGED)),
        ("stored.zip", lambda: damage(zip_bytes(THREE, compression=__import__("zipfile").ZIP_STORED), DAMAGED)),
        ("a.7z", lambda: damage(seven_zip(THREE), DAMAGED)),
    ],
)
def test_one_damaged_entry_is_reported_and_the_rest_unpacked(
    tmp_path: Path, campaign: Campaign, name: str, build
) -> None:
    sub = read(tmp_path, name, build(), campaign)
    assert paths(sub) == [f"{name}/材料/说明.txt", f"{name}/材料/金哲洙/证件照.jpg"]
    assert {f.name: f.local.read_bytes() for f in sub.files} == {
        "说明.txt": THREE["材料/说明.txt"],
        "证件照.jpg": noise(1),
    }
    code, path, reason, _ = only_problem(sub)
    assert (code, path) == ("FILE_UNREADABLE", f"{name}/材料/金哲洙/生活照.jpg") and "损坏" in reason


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_cut_off_tar_keeps_the_entries_before_the_cut(tmp_path: Path, campaign: Campaign, mode: str) -> None:
    name = "a.tar.gz" if mode == "w:gz" else "a.tar"
    sub = read(tmp_path, name, truncated(tar_bytes(THREE, mode=mode), 0.8), campaign)
    assert paths(sub) == [f"{name}/材料/金哲洙/生活照.jpg", f"{name}/材料/金哲洙/证件照.jpg"]
    assert {p.code for p in sub.problems} == {"FILE_UNREADABLE"}
    assert name in {p.path for p in sub.problems}  # the archive itself: its end is missing


@pytest.mark.parametrize(
    ("name", "builder"),
    [
        ("a.7z", lambda f: seven_zip(f)),
        ("a.tar.gz", lambda f: tar_bytes(f)),
        ("a.tar", lambda f: tar_bytes(f, mode="w")),
        ("a.rar", lambda f: rar_bytes(f)),
    ],
)
def test_other_formats(tmp_path: Path, campaign: Campaign, name: str, builder) -> None:
    sub = read(tmp_path, name, builder({"延边/金哲洙/证件照.jpg": JPEG, "延边/说明.txt": "说明".encode()}), campaign)
    assert sub.problems == []
    assert paths(sub) == [f"{name}/延边/说明.txt", f"{name}/延边/金哲洙/证件照.jpg"]
    assert {f.sniffed for f in sub.files} == {"jpeg", "txt"}
    jpeg = next(f for f in sub.files if f.sniffed == "jpeg")
    assert jpeg.local.read_bytes() == JPEG and jpeg.size == len(JPEG)


def test_single_gzip_file(tmp_path: Path, campaign: Campaign) -> None:
    import gzip

    sub = read(tmp_path, "照片.jpg.gz", gzip.compress(JPEG), campaign)
    assert paths(sub) == ["照片.jpg.gz/照片.jpg"]


def test_junk_and_folders_are_not_files(tmp_path: Path, campaign: Campaign) -> None:
    files = {
        "材料/证件照.jpg": JPEG,
        "__MACOSX/材料/._证件照.jpg": b"junk",
        "材料/.DS_Store": b"junk",
        "材料/Thumbs.db": b"junk",
        "材料/desktop.ini": b"junk",
        "材料/~$推荐表.docx": b"junk",
    }
    sub = read(tmp_path, "a.zip", zip_bytes(files), campaign)
    assert paths(sub) == ["a.zip/材料/证件照.jpg"]


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("zeros.bin.gz", lambda: __import__("gzip").compress(b"\0" * 2_000_000)),
        ("zeros.tar.gz", lambda: tar_bytes({"zeros.bin": b"\0" * 2_000_000})),
        ("zeros.7z", lambda: seven_zip({"zeros.bin": b"\0" * 2_000_000})),
    ],
)
def test_bombs_in_other_formats(tmp_path: Path, campaign: Campaign, name: str, build) -> None:
    small = with_limits(campaign, ratio_min_bytes=100_000)
    sub = read(tmp_path, name, build(), small)
    code, path, reason, params = only_problem(sub)
    assert (code, path) == ("ARCHIVE_REJECTED", name) and "压缩比" in params["detail"]
    assert reason == "内容异常，无法安全解压"
    assert sub.files == []


def test_an_entry_in_a_compression_method_python_cannot_read_is_named_and_the_rest_unpacked(
    tmp_path: Path, campaign: Campaign
) -> None:
    """WinZip and 7-Zip can write PPMd (98) or zstd (93) entries; zipfile refuses them."""
    import io
    import struct
    import zipfile

    files = {"材料/说明.txt": b"readme", "材料/视频.mp4": noise(2000)}
    data = bytearray(zip_bytes(files, compression=zipfile.ZIP_STORED))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        local = zf.infolist()[-1].header_offset  # the video, the last entry
    central = data.rfind(b"PK\x01\x02")  # its central directory record, the last one
    struct.pack_into("<H", data, local + 8, 98)  # the method, in the local header ...
    struct.pack_into("<H", data, central + 10, 98)  # ... and in the central directory
    sub = read(tmp_path, "材料.zip", bytes(data), campaign)
    assert paths(sub) == ["材料.zip/材料/说明.txt"]
    code, path, reason, _ = only_problem(sub)
    assert (code, path) == ("FILE_UNREADABLE", "材料.zip/材料/视频.mp4") and "不支持的压缩方式 98" in reason
