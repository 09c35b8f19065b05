"""Multi-volume archives as units make them, with the real tools: 7-Zip volumes, Info-ZIP spans.

The package is the yanbian sample's own attachment (../shared/samples/yanbian_complete/1.eml),
so a joined result can be compared with the sample's own check. Volumes are made once per
run (and cached across runs, tests/support/cache.py): `7z a` then the bytes cut in pieces of
one size as 7-Zip's `-v` does, `zip -s` for a .z01 … .zip span, and a zip's bytes cut as
X.001, X.002 (what HJSplit or `7z -v` on a zip makes).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from config.campaign import load_campaign
from intake.archive import Budget, extract
from tests.support.cache import CACHE_DIR, ROOT
from tests.support.mail import attachment, build_mail, filename_rfc2047

SAMPLE = ROOT.parent / "shared" / "samples" / "yanbian_complete" / "1.eml"
STEM = "延边州2021年百姓学习之星和终身学习品牌项目推荐材料"
_VERSION = "2"


def sample_attachment() -> tuple[str, bytes]:
    """The sample's zip attachment: its name and bytes."""
    with SAMPLE.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        return str(part.get_filename()), data
    raise AssertionError("the sample has no attachment")


def _cached_dir(name: str, build) -> Path:  # type: ignore[no-untyped-def]
    """A directory of fixture files built once (renamed into place whole, so never half-built)."""
    key = hashlib.sha256(f"{name}-{_VERSION}".encode()).hexdigest()[:12]
    target = CACHE_DIR / f"volumes-{name}-{key}"
    if target.is_dir():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=CACHE_DIR, prefix=f".{name}-"))
    try:
        build(tmp)
        with contextlib.suppress(OSError):  # built meanwhile by a parallel run
            os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def package_folder() -> Path:
    """The sample package unpacked (its folder names decoded as the desk decodes them)."""

    def build(out: Path) -> None:
        _, data = sample_attachment()
        archive = out / "sample.zip"
        archive.write_bytes(data)
        staging = out / "staging"
        unpacked = extract(archive, "zip", staging, Budget(load_campaign().limits), archive.name)
        root = out / "package"
        for member in unpacked.members:
            target = root.joinpath(*member.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            member.local.rename(target)
        shutil.rmtree(staging)
        archive.unlink()

    return _cached_dir("folder", build) / "package"


def cut(data: bytes, pieces: int) -> list[bytes]:
    """Bytes cut as 7-Zip's -v cuts them: pieces of one size, the last smaller (always, here)."""
    size = len(data) // pieces + 1
    return [data[i : i + size] for i in range(0, len(data), size)]


def seven_zip_volumes(pieces: int = 2) -> list[tuple[str, bytes]]:
    """The sample package as a 7z archive cut in `pieces` volumes: 材料.7z.001, 材料.7z.002 …"""

    def build(out: Path) -> None:
        target = out / "whole.7z"
        subprocess.run(
            ["7z", "a", "-bd", "-mx=1", str(target), "."], cwd=package_folder(), check=True, capture_output=True
        )
        for number, piece in enumerate(cut(target.read_bytes(), pieces), start=1):
            (out / f"{STEM}.7z.{number:03d}").write_bytes(piece)
        target.unlink()

    return _files(_cached_dir(f"7z{pieces}", build))


def zip_span(volume: str = "1m") -> list[tuple[str, bytes]]:
    """The sample package as an Info-ZIP span: 材料.z01, 材料.z02, 材料.zip (the last volume)."""

    def build(out: Path) -> None:
        target = out / f"{STEM}.zip"
        subprocess.run(
            ["zip", "-q", "-r", "-s", volume, str(target), "."], cwd=package_folder(), check=True, capture_output=True
        )

    return _files(_cached_dir(f"span{volume}", build))


def raw_split_zip(pieces: int = 2) -> list[tuple[str, bytes]]:
    """The sample's own zip cut in pieces without an archive extension: 材料.001, 材料.002."""
    _, data = sample_attachment()
    return [(f"{STEM}.{n:03d}", piece) for n, piece in enumerate(cut(data, pieces), start=1)]


def small_7z_volumes(files: dict[str, bytes], pieces: int = 2) -> list[bytes]:
    """A 7z of `files` (stored, so its size is known) cut in `pieces`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "in")
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        target = Path(tmp, "out.7z")
        subprocess.run(["7z", "a", "-bd", "-mx=0", str(target), "."], cwd=root, check=True, capture_output=True)
        return cut(target.read_bytes(), pieces)


def _files(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir(), key=_volume_order) if p.is_file()]


def _volume_order(path: Path) -> tuple[int, str]:
    return (1 if path.suffix.lower() == ".zip" else 0, path.name)  # a span's .zip comes last


def volume_mail(volumes: list[tuple[str, bytes]], subject: str, path: Path) -> Path:
    """A mail carrying `volumes` as attachments, written to `path`."""
    parts = [attachment(data, filename_rfc2047(name)) for name, data in volumes]
    path.write_bytes(build_mail(parts, subject=subject, text="吴老师：\n您好！推荐材料分卷压缩，见附件。"))
    return path
