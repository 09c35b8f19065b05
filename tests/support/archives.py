"""Archives as units' tools write them (and as attackers would), built by code.

GBK names without the UTF-8 flag (Windows' built-in zip and old WinRAR), nested zips,
traversal and symlink entries, bombs, overlapping entries, encrypted zip/7z, truncated
files, tar/gz, and a stored RAR 4 archive written byte by byte (Debian has no RAR writer).
"""

from __future__ import annotations

import io
import struct
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

import py7zr


class _RawNameInfo(zipfile.ZipInfo):
    """A zip entry whose name bytes are written as given, without the UTF-8 flag."""

    def __init__(self, raw_name: bytes) -> None:
        super().__init__(raw_name.decode("cp437"), date_time=(2021, 8, 20, 10, 0, 0))

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits


def zip_bytes(
    files: dict[str, bytes],
    *,
    encoding: str = "utf-8",
    compression: int = zipfile.ZIP_DEFLATED,
    symlinks: dict[str, str] | None = None,
) -> bytes:
    """A zip of `files`; encoding "gbk" writes GBK names without the UTF-8 flag, as Windows does."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            if encoding == "utf-8":
                info = zipfile.ZipInfo(name, date_time=(2021, 8, 20, 10, 0, 0))
            else:
                info = _RawNameInfo(name.encode(encoding))
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2021, 8, 20, 10, 0, 0))
            info.external_attr = (0o120777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def nested_zip(depth: int, leaf_name: str = "证件照.jpg", leaf: bytes = b"\xff\xd8\xff\xe0leaf") -> bytes:
    """A zip in a zip ... `depth` levels deep (depth 1 is a plain zip), the leaf in the innermost."""
    data = zip_bytes({f"第{depth}层/{leaf_name}": leaf})
    for level in range(depth - 1, 0, -1):
        data = zip_bytes({f"第{level}层/内层{level + 1}.zip": data, f"第{level}层/说明{level}.txt": b"ok"})
    return data


def overlapping_zip() -> bytes:
    """Two central-directory entries pointing at the same local data (CVE-2024-0450 style)."""
    data = bytearray(zip_bytes({"a.txt": b"A" * 1000, "b.txt": b"B" * 1000}))
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    offset_a = data[first + 42 : first + 46]
    data[second + 42 : second + 46] = offset_a
    return bytes(data)


def encrypted_zip(files: dict[str, bytes], password: str = "secret") -> bytes:
    """ZipCrypto-encrypted, written by p7zip's 7z (installed on the build machines)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for name, data in files.items():
            (src / name).write_bytes(data)
        out = Path(tmp, "out.zip")
        subprocess.run(
            ["7z", "a", "-tzip", f"-p{password}", "-mem=ZipCrypto", str(out), *files],
            cwd=src,
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def seven_zip(files: dict[str, bytes], password: str | None = None, header_encryption: bool = False) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=header_encryption) as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    return buf.getvalue()


def tar_bytes(files: dict[str, bytes], *, mode: str = "w:gz", symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _rar_block(head_type: int, flags: int, body: bytes) -> bytes:
    size = 7 + len(body)
    header = struct.pack("<BHH", head_type, flags, size) + body
    crc = zlib.crc32(header) & 0xFFFF
    return struct.pack("<H", crc) + header


def rar_bytes(files: dict[str, bytes], *, encrypted: bool = False) -> bytes:
    """A RAR 4 archive with stored (uncompressed) entries and UTF-8 names.

    Names use the LHD_UNICODE flag with no zero byte, which RAR 3+ readers take as UTF-8.
    `encrypted` only sets the password flag on the headers: enough for a reader to refuse it.
    """
    out = bytearray(b"Rar!\x1a\x07\x00")
    out += _rar_block(0x73, 0, b"\0\0\0\0\0\0")
    dos_time = (41 << 25) | (8 << 21) | (20 << 16) | (10 << 11)
    for name, data in files.items():
        raw_name = name.replace("/", "\\").encode("utf-8")
        flags = 0x8000 | 0x0200 | (0x0004 if encrypted else 0)
        body = struct.pack(
            "<IIBIIBBHI",
            len(data),
            len(data),
            2,  # host OS: Windows
            zlib.crc32(data),
            dos_time,
            29,  # version needed: 2.9
            0x30,  # method: store
            len(raw_name),
            0x20,  # archive attribute
        )
        out += _rar_block(0x74, flags, body + raw_name)
        out += data
    out += _rar_block(0x7B, 0x4000, b"")
    return bytes(out)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def noise(seed: int, size: int = 4000) -> bytes:
    """Incompressible bytes: archivers store them as they are, so `damage` can find them."""
    import random

    return random.Random(seed).randbytes(size)


def damage(archive: bytes, content: bytes) -> bytes:
    """`archive` with one byte flipped inside the stored copy of `content` (its CRC then fails)."""
    probe = content[len(content) // 2 : len(content) // 2 + 32]
    at = archive.find(probe)
    assert at >= 0, "the content is not stored verbatim in the archive"
    data = bytearray(archive)
    data[at + 8] ^= 0xFF
    return bytes(data)


def without_member(archive: bytes, name: str) -> bytes:
    """A zip (an Office file, say) with one member left out, the rest copied as they are."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != name:
                out.writestr(info, src.read(info))
    return buf.getvalue()
