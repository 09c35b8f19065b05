"""Multi-volume archives: which files are volumes, how many a set has, what is missing, and the joined archive.

The volumes are made by the real tools (7z, Info-ZIP's `zip -s`); RAR volumes cannot be made here
(no `rar` binary), so RAR is tested by name and by its header's volume flag only.
"""

from __future__ import annotations

import random
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import py7zr
import pytest

from config import Campaign
from intake.archive.base import ArchiveProblem
from intake.archive.joined import join_volumes
from intake.models import Submission, VolumePart
from intake.sniff import sniff
from intake.source import read_source
from intake.volume_join import join_volume_sets
from intake.volumes import completeness, group_sets, missing_part_problems, volume_part, volume_placements
from tests.support.archives import _rar_block, zip_bytes
from tests.support.volumes import cut, small_7z_volumes

PHOTO = bytes(range(256)) * 40


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _part(folder: Path, name: str, data: bytes, submission: int = 0) -> VolumePart:
    path = _write(folder, name, data)
    part = volume_part(name, path, sniff(path), name, submission)
    assert part is not None, name
    return part


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A stored 7z of a few files, cut in three volumes."""
    return small_7z_volumes({"材料/张三/照片1.jpg": PHOTO, "材料/说明.txt": "说明".encode() * 500}, pieces=3)


@pytest.fixture(scope="module")
def span(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Info-ZIP span (64 KiB volumes) whose big file crosses two volume boundaries."""
    folder = tmp_path_factory.mktemp("span")
    src = folder / "src"
    _write(src, "big.bin", random.Random(7).randbytes(150_000))  # incompressible: stored across volumes
    _write(src, "small.txt", "小文件".encode())
    out = folder / "out"
    out.mkdir()
    subprocess.run(["zip", "-q", "-r", "-s", "64k", str(out / "材料.zip"), "."], cwd=src, check=True)
    return out


# -- names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "set_name", "style", "number"),
    [
        ("材料.7z.001", "材料.7z", "split", 1),
        ("材料.7z.012", "材料.7z", "split", 12),
        ("材料.ZIP.002", "材料.zip", "split", 2),
        ("材料.rar.003", "材料.rar", "split", 3),
        ("材料.z01", "材料.zip", "zip", 1),
        ("材料.Z11", "材料.zip", "zip", 11),
        ("材料.part1.rar", "材料.rar", "rar", 1),
        ("材料.part02.rar", "材料.rar", "rar", 2),
        ("材料.r00", "材料.rar", "rar", 2),
        ("材料.r07", "材料.rar", "rar", 9),
    ],
)
def test_volumes_are_known_by_name(tmp_path: Path, name: str, set_name: str, style: str, number: int) -> None:
    part = _part(tmp_path, name, b"\x00" * 100)
    assert (part.set_name, part.style, part.number) == (set_name, style, number)


@pytest.mark.parametrize("name", ["材料.zip", "材料.7z", "照片.jpg", "材料.rar", "报告.001", "材料.part.rar", "v1.0"])
def test_other_files_are_no_volumes(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, zip_bytes({"a.txt": b"a"}) if name.endswith(".zip") else b"plain text")
    assert volume_part(name, path, sniff(path)) is None


def test_a_photo_named_like_a_piece_is_a_photo(tmp_path: Path) -> None:
    path = _write(tmp_path, "照片.002", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100)
    assert volume_part("照片.002", path, sniff(path)) is None


def test_a_bare_001_takes_the_type_volume_one_is(tmp_path: Path, seven: list[bytes]) -> None:
    first = _part(tmp_path, "材料.001", seven[0])
    second = _part(tmp_path, "材料.002", seven[1])
    assert (first.set_name, first.style, first.total) == ("材料.7z", "split", 3)
    assert list(group_sets([first, second])) == ["材料.7z"]  # the piece without a header joins volume 1's set


def test_rar_volume_flag_marks_a_plain_first_volume(tmp_path: Path) -> None:
    rar4 = b"Rar!\x1a\x07\x00" + _rar_block(0x73, 0x0001, b"\0" * 6)
    part = _part(tmp_path, "材料.rar", rar4)
    assert (part.set_name, part.style, part.number) == ("材料.rar", "rar", 1)
    body = bytes([1, 0, 1])  # RAR 5 main header: type 1, no flags, archive flags "volume"
    header = bytes([len(body)]) + body
    rar5 = b"Rar!\x1a\x07\x01\x00" + struct.pack("<I", zlib.crc32(header)) + header
    assert _part(tmp_path, "新.rar", rar5).number == 1
    plain = b"Rar!\x1a\x07\x00" + _rar_block(0x73, 0, b"\0" * 6)
    path = _write(tmp_path, "普通.rar", plain)
    assert volume_part("普通.rar", path, sniff(path)) is None


# -- totals and what is missing --------------------------------------------------------------
def test_a_7z_first_volume_tells_the_total(tmp_path: Path, seven: list[bytes]) -> None:
    first = _part(tmp_path, "材料.7z.001", seven[0])
    assert first.total == 3
    state = completeness([first])
    assert not state.whole
    assert state.missing == ["材料.7z.002", "材料.7z.003"]


def test_without_volume_one_the_end_is_unknown(tmp_path: Path, seven: list[bytes]) -> None:
    second = _part(tmp_path, "材料.7z.002", seven[1])
    assert completeness([second]).missing == ["材料.7z.001", "第 3 卷及之后的分卷（如有）"]
    third = _part(tmp_path, "材料.7z.003", seven[2])  # smaller than the second: the last
    assert completeness([second, third]).missing == ["材料.7z.001"]


def test_a_span_s_zip_is_its_last_volume(span: Path, tmp_path: Path) -> None:
    names = sorted(p.name for p in span.iterdir())
    assert names == ["材料.z01", "材料.z02", "材料.zip"]
    parts = [volume_part(n, span / n, sniff(span / n)) for n in names]
    assert all(parts)
    last = parts[-1]
    assert last is not None and (last.style, last.number, last.total) == ("zip", 3, 3)
    state = completeness([p for p in parts if p is not None and p.number != 2])
    assert state.missing == ["材料.z02"]
    alone = completeness([p for p in parts[:1] if p is not None])
    assert alone.missing == ["材料.zip"]


def test_a_raw_split_zip_ends_in_the_piece_with_its_end_record(tmp_path: Path) -> None:
    whole = zip_bytes({"a.bin": PHOTO * 10})
    pieces = cut(whole, 3)
    last = _part(tmp_path, "材料.zip.003", pieces[2])
    assert last.total == 3
    assert completeness([last]).missing == ["材料.zip.001", "材料.zip.002"]


def test_rar_parts_are_named_like_those_that_came(tmp_path: Path) -> None:
    parts = [_part(tmp_path, "材料.part01.rar", b"x" * 10), _part(tmp_path, "材料.part03.rar", b"x" * 10)]
    assert completeness(parts).missing == ["材料.part02.rar"]
    old = [_part(tmp_path, "旧.r01", b"x" * 10)]
    assert completeness(old).missing == ["旧.rar", "旧.r00"]


def test_a_rar_volume_s_end_block_says_whether_another_follows(tmp_path: Path) -> None:
    def volume(more: bool) -> bytes:
        main = _rar_block(0x73, 0x0001, b"\0" * 6)  # "volume"
        return b"Rar!\x1a\x07\x00" + main + _rar_block(0x7B, 0x0001 if more else 0, b"")

    first = _part(tmp_path, "材料.part1.rar", volume(more=True))
    assert completeness([first]).missing == ["第 2 卷及之后的分卷（如有）"]
    last = _part(tmp_path, "材料.part2.rar", volume(more=False))
    assert last.total == 2
    assert completeness([first, last]).whole
    assert completeness([last]).missing == ["材料.part1.rar"]


# -- joining ---------------------------------------------------------------------------------
def test_joined_7z_opens(tmp_path: Path, seven: list[bytes]) -> None:
    parts = [_part(tmp_path, f"材料.7z.{n:03d}", piece) for n, piece in enumerate(seven, start=1)]
    assert completeness(parts).whole
    joined, kind = join_volumes(parts, tmp_path / "join")
    assert kind == "7z"
    with py7zr.SevenZipFile(joined) as archive:
        archive.extractall(tmp_path / "out")
    assert (tmp_path / "out" / "材料" / "张三" / "照片1.jpg").read_bytes() == PHOTO


def test_joined_span_opens_with_zipfile(span: Path, tmp_path: Path) -> None:
    names = ["材料.z01", "材料.z02", "材料.zip"]
    parts = [volume_part(n, span / n, sniff(span / n)) for n in names]
    joined, kind = join_volumes([p for p in parts if p is not None], tmp_path / "join")
    assert kind == "zip"
    with zipfile.ZipFile(joined) as archive:
        assert archive.testzip() is None
        big = archive.read("big.bin")  # written across the volume boundaries
        assert big == (span.parent / "src" / "big.bin").read_bytes()
        assert archive.read("small.txt").decode() == "小文件"


def test_a_zip64_span_is_refused_with_its_reason(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src, "big.bin", random.Random(8).randbytes(150_000))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["zip", "-q", "-fz", "-s", "64k", str(out / "m.zip"), "big.bin"], cwd=src, check=True)
    parts = [_part(out, p.name, p.read_bytes()) for p in sorted(out.iterdir(), key=lambda p: p.suffix == ".zip")]
    assert completeness(parts).whole
    with pytest.raises(ArchiveProblem) as refused:
        join_volumes(parts, tmp_path / "join")
    assert refused.value.code == "FILE_UNREADABLE" and "zip64" in refused.value.reason


def test_rar_volumes_are_linked_under_names_readers_follow(tmp_path: Path) -> None:
    parts = [_part(tmp_path, f"材料.part{n}.rar", f"vol{n}".encode()) for n in (1, 2)]
    first, kind = join_volumes(parts, tmp_path / "join")
    assert (first.name, kind) == ("v.part1.rar", "rar")
    assert (first.parent / "v.part2.rar").read_bytes() == b"vol2"


# -- in a submission and across submissions ---------------------------------------------------
def test_a_folder_with_every_volume_is_read_as_the_archive(
    tmp_path: Path, seven: list[bytes], campaign: Campaign
) -> None:
    src = tmp_path / "src"
    for n, piece in enumerate(seven, start=1):
        _write(src, f"分卷/材料.7z.{n:03d}", piece)
    sub = read_source(src, tmp_path / "work", campaign)
    assert sub.volumes == [] and sub.joined_volumes == ["材料.7z"]
    assert sorted(f.path for f in sub.files) == ["分卷/材料.7z/材料/张三/照片1.jpg", "分卷/材料.7z/材料/说明.txt"]
    assert sub.problems == []


def test_a_whole_set_that_makes_no_archive_is_unreadable_not_missing(tmp_path: Path, campaign: Campaign) -> None:
    src = tmp_path / "src"
    _write(src, "材料.z01", b"not a zip at all" * 100)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 1, 0, 1, 1, 46, 10, 0)  # "disk 2 of a span"
    _write(src, "材料.zip", b"\0" * 60 + end)
    sub = read_source(src, tmp_path / "work", campaign)
    assert [(p.code, p.path) for p in sub.problems] == [("FILE_UNREADABLE", "材料.zip")]
    assert "分卷压缩包的目录已损坏" in sub.problems[0].reason
    assert missing_part_problems([sub]) == []
    [line] = {p.reason for p in volume_placements(sub, [sub])}
    assert line == "分卷已合并（材料.zip，共 2 卷），但合并后的压缩包无法解压，见下方问题"


def _mail_like(tmp_path: Path, index: int, volumes: dict[str, bytes], campaign: Campaign) -> Submission:
    src = tmp_path / f"in{index}"
    for name, data in volumes.items():
        _write(src, name, data)
    return read_source(src, tmp_path / f"work{index}", campaign, index)


def test_volumes_over_submissions_are_joined_in_the_last(
    tmp_path: Path, seven: list[bytes], campaign: Campaign
) -> None:
    subs = [
        _mail_like(tmp_path, 0, {"材料.7z.001": seven[0]}, campaign),
        _mail_like(tmp_path, 1, {"材料.7z.002": seven[1]}, campaign),
    ]
    [problem] = missing_part_problems(subs)
    assert problem.params == {"archive": "材料.7z", "missing": ["材料.7z.003"], "have": ["材料.7z.001", "材料.7z.002"]}
    assert problem.submission == 1
    subs.append(_mail_like(tmp_path, 2, {"材料.7z.003": seven[2]}, campaign))
    assert join_volume_sets(subs, tmp_path / "joined", campaign) == [2]
    assert sorted(f.path for f in subs[2].files) == ["材料.7z/材料/张三/照片1.jpg", "材料.7z/材料/说明.txt"]
    assert subs[2].joined_volumes == ["材料.7z"] and subs[2].volumes == []
    assert len(subs[0].volumes) == 1 and subs[0].files == []  # earlier submissions are left as they came
    assert missing_part_problems(subs) == []
    assert join_volume_sets(subs, tmp_path / "joined", campaign) == []  # nothing new to join


def test_a_set_sent_again_after_its_join_is_a_new_set(tmp_path: Path, seven: list[bytes], campaign: Campaign) -> None:
    whole = {f"材料.7z.{n:03d}": piece for n, piece in enumerate(seven, start=1)}
    subs = [_mail_like(tmp_path, 0, whole, campaign), _mail_like(tmp_path, 1, {"材料.7z.001": seven[0]}, campaign)]
    [problem] = missing_part_problems(subs)
    assert problem.params["missing"] == ["材料.7z.002", "材料.7z.003"] and problem.submission == 1
