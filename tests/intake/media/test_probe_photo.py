"""Photos are measured from their content as a person checking the ID photo would: real
format, the size a viewer shows, colour or not, and refused when broken or enormous."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from config import Campaign
from intake.media.photo import probe_photo
from intake.models import FileProblem, PackageFile, PhotoInfo
from tests.support.media import make_photo

ROOT = Path(__file__).resolve().parents[3]


def package_file(local: Path, sniffed: str = "jpeg", path: str | None = None) -> PackageFile:
    return PackageFile(path=path or f"材料/张三/{local.name}", local=local, size=local.stat().st_size, sniffed=sniffed)


def probe_ok(local: Path, campaign: Campaign, sniffed: str = "jpeg") -> PhotoInfo:
    info = probe_photo(package_file(local, sniffed), campaign)
    assert isinstance(info, PhotoInfo), info
    return info


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares `width`x`height` but which holds a few bytes of pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_colour_id_photo_is_measured(campaign: Campaign) -> None:
    info = probe_ok(make_photo(413, 579, text="张三"), campaign)
    assert (info.format, info.width, info.height, info.colour) == ("JPEG", 413, 579, True)
    assert info.exif_orientation is None


def test_real_format_wins_over_the_extension(campaign: Campaign, tmp_path: Path) -> None:
    renamed = tmp_path / "证件照.jpg"
    shutil.copy(make_photo(413, 579, fmt="PNG"), renamed)
    info = probe_ok(renamed, campaign, sniffed="png")
    assert info.format == "PNG"


@pytest.mark.parametrize(
    ("orientation", "shown"),
    [(1, (600, 400)), (3, (600, 400)), (6, (400, 600)), (8, (400, 600)), (5, (400, 600))],
)
def test_exif_orientation_gives_the_displayed_size(
    campaign: Campaign, orientation: int, shown: tuple[int, int]
) -> None:
    info = probe_ok(make_photo(600, 400, exif_orientation=orientation), campaign)
    assert (info.width, info.height) == shown
    assert info.exif_orientation == orientation


def test_rgb_photo_with_equal_channels_is_grey(campaign: Campaign) -> None:
    assert probe_ok(make_photo(413, 579, grey=True), campaign).colour is False


def test_greyscale_mode_photo_is_grey(campaign: Campaign, tmp_path: Path) -> None:
    grey = tmp_path / "黑白.png"
    Image.open(make_photo(200, 280)).convert("L").save(grey)
    assert probe_ok(grey, campaign, sniffed="png").colour is False


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_other_formats_are_read(campaign: Campaign, fmt: str) -> None:
    info = probe_ok(make_photo(120, 160, fmt=fmt), campaign, sniffed=fmt.lower())
    assert (info.format, info.width, info.height, info.colour) == (fmt, 120, 160, True)


def test_heic_photo_with_rotation(campaign: Campaign) -> None:
    info = probe_ok(make_photo(600, 400, fmt="HEIF", exif_orientation=6), campaign, sniffed="heic")
    assert info.format == "HEIF"
    assert (info.width, info.height) == (400, 600)
    assert info.colour is True


def test_an_iphone_photo_is_read_by_a_fresh_process(campaign: Campaign) -> None:
    """The desk registers HEIF itself at the first probe (lazily, issue 13), not only when
    something else (here the test's photo maker) happened to register it first."""
    photo = make_photo(600, 400, fmt="HEIF")
    script = f"""
from pathlib import Path
from config import load_campaign
from intake.media.photo import probe_photo
from intake.models import PackageFile
local = Path({str(photo)!r})
file = PackageFile(path="证件照.heic", local=local, size=local.stat().st_size, sniffed="heic")
print(probe_photo(file, load_campaign()))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "format='HEIF' width=600 height=400 exif_orientation=None colour=True"


def test_large_camera_photo_is_not_fully_decoded(campaign: Campaign) -> None:
    photo = make_photo(6000, 4000, text="camera")
    small = make_photo(64, 64, text="warm-up")
    # Peak memory of a fresh process probing it: a full decode of 24 megapixels needs 72 MB of
    # RGB; the 1/8-scale draft a few hundred KB. (Memory, not time: it does not vary with load.)
    script = f"""
import resource, sys
from pathlib import Path
from config import load_campaign
from intake.media.photo import probe_photo
from intake.models import PackageFile, PhotoInfo
campaign = load_campaign()
def package_file(local):
    return PackageFile(path="材料/张三/" + local.name, local=local, size=local.stat().st_size, sniffed="jpeg")
probe_photo(package_file(Path({str(small)!r})), campaign)  # imports and first-use allocations settle
file = package_file(Path({str(photo)!r}))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
info = probe_photo(file, campaign)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert isinstance(info, PhotoInfo), info
print(info.width, info.height, info.colour, after - before)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    width, height, colour, grown_kib = out.stdout.split()
    assert (int(width), int(height), colour) == (6000, 4000, "True")
    assert int(grown_kib) < 20 * 1024, f"probing grew the process by {int(grown_kib) // 1024} MB"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [50_000, 12_000])
def test_declared_size_over_the_limit_is_refused_without_decoding(
    campaign: Campaign, tmp_path: Path, side: int
) -> None:
    bomb = png_header_only(tmp_path / "巨图.png", side, side)
    problem = probe_photo(package_file(bomb, "png", path="材料/巨图.png"), campaign)
    assert isinstance(problem, FileProblem)
    assert problem.code == "FILE_UNREADABLE"
    assert problem.path == "材料/巨图.png"
    assert f"{side}×{side}" in problem.reason
    assert problem.params["width"] == side and problem.params["height"] == side


def test_limit_comes_from_the_campaign(campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    # probe_photo sets Pillow's process-wide guard; restore it for the other tests.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    strict = campaign.model_copy(update={"limits": campaign.limits.model_copy(update={"max_image_pixels": 100_000})})
    problem = probe_photo(package_file(make_photo(413, 579)), strict)
    assert isinstance(problem, FileProblem) and "413×579" in problem.reason
    assert isinstance(probe_photo(package_file(make_photo(200, 280)), strict), PhotoInfo)


def test_truncated_photo_is_unreadable(campaign: Campaign, tmp_path: Path) -> None:
    whole = make_photo(800, 600, text="cut").read_bytes()
    cut = tmp_path / "照片.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    problem = probe_photo(package_file(cut), campaign)
    assert isinstance(problem, FileProblem)
    assert (problem.code, problem.reason) == ("FILE_UNREADABLE", "图片文件已损坏或不完整")


@pytest.mark.parametrize("content", [b"", b"not a picture at all" * 50, b"\xff\xd8\xff\xe0garbage" * 10])
def test_garbage_photo_is_unreadable(campaign: Campaign, tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "照片.jpg"
    junk.write_bytes(content)
    problem = probe_photo(package_file(junk), campaign)
    assert isinstance(problem, FileProblem) and problem.code == "FILE_UNREADABLE"
    assert problem.reason
