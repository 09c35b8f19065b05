"""A whole set of volumes made into ONE ordinary archive on disk, so the usual readers open it.

A raw split (X.7z.001 …) is its pieces concatenated. A spanned zip (X.z01 … X.zip) is its
volumes concatenated too, but its central directory counts offsets per disk: they are made
absolute (and the end record says "one disk") so Python's zipfile reads it. RAR volumes
stay volumes: rarfile and unar follow them by name, so they are linked into a scratch folder
under canonical names and the first one is returned. Bytes are streamed (1 MiB at a time),
never held whole in memory: a set can be gigabytes of video.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from intake.archive.base import CHUNK, ArchiveProblem, unreadable
from intake.models import VolumePart
from intake.sniff import sniff
from intake.volumes import RAR, SPLIT, ZIP, zip_end_record

_CENTRAL = b"PK\x01\x02"
_ZIP64_LOCATOR = b"PK\x06\x07"


def join_volumes(parts: list[VolumePart], scratch: Path) -> tuple[Path, str]:
    """Join a whole set (volumes in order, 1 … N) into `scratch`; returns the archive and its sniffed type.

    Raises ArchiveProblem (FILE_UNREADABLE) when the joined bytes are no archive we can read.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    style = parts[0].style
    if style == RAR:
        first = _link_rar(parts, scratch)
        return first, "rar"
    ext = Path(parts[0].set_name).suffix.lower() or ".bin"
    target = scratch / f"joined{ext}"
    _concatenate(parts, target)
    if style == ZIP:
        _absolute_offsets(target, [p.size for p in parts])
    elif style != SPLIT:
        raise ValueError(style)
    kind = sniff(target, target.name)
    if kind not in ("zip", "7z", "rar"):
        target.unlink(missing_ok=True)
        raise unreadable("分卷合并后不是可识别的压缩包")
    return target, kind


def _concatenate(parts: list[VolumePart], target: Path) -> None:
    with target.open("wb") as out:
        for part in parts:
            with Path(part.local).open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)


def _link_rar(parts: list[VolumePart], scratch: Path) -> Path:
    """The volumes under names rarfile/unar look for next: v.part01.rar … or v.rar, v.r00 …"""
    names = [_rar_name(p, len(parts)) for p in parts]
    for part, name in zip(parts, names, strict=True):
        target = scratch / name
        target.unlink(missing_ok=True)
        try:
            os.link(part.local, target)
        except OSError:
            shutil.copyfile(part.local, target)
    return scratch / names[0]


def _rar_name(part: VolumePart, total: int) -> str:
    base = part.path.rsplit("/", 1)[-1].lower()
    if ".part" in base:
        width = max(len(str(total)), len(base.rsplit(".part", 1)[1].split(".")[0]))
        return f"v.part{part.number:0{width}d}.rar"
    return "v.rar" if part.number == 1 else f"v.r{part.number - 2:02d}"


def _absolute_offsets(path: Path, sizes: list[int]) -> None:
    """Rewrite a concatenated span's central directory with offsets from the start of the file."""
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    found = zip_end_record(path)
    if found is None:
        raise unreadable("分卷压缩包的结尾记录缺失")
    pos, tail = found
    eocd_at = sum(sizes) - len(tail) + pos
    with path.open("r+b") as fh:
        (_, _disk, cd_disk, _on_disk, entries, cd_size, cd_offset) = struct.unpack_from("<IHHHHII", tail, pos)
        if (pos >= 20 and tail[pos - 20 : pos - 16] == _ZIP64_LOCATOR) or 0xFFFFFFFF in (cd_size, cd_offset):
            raise _zip64()
        if cd_disk >= len(starts):
            raise unreadable("分卷压缩包的目录位置不对")
        cd_at = starts[cd_disk] + cd_offset
        fh.seek(cd_at)
        directory = bytearray(fh.read(cd_size))
        at = 0
        for _ in range(entries):
            if directory[at : at + 4] != _CENTRAL:
                raise unreadable("分卷压缩包的目录已损坏")
            name_len, extra_len, comment_len, disk = struct.unpack_from("<HHHH", directory, at + 28)
            offset = struct.unpack_from("<I", directory, at + 42)[0]
            if disk == 0xFFFF or offset == 0xFFFFFFFF:
                raise _zip64()
            if disk >= len(starts):
                raise unreadable("分卷压缩包的条目位置不对")
            absolute = starts[disk] + offset
            if absolute > 0xFFFFFFFF:
                raise _zip64()
            struct.pack_into("<H", directory, at + 34, 0)
            struct.pack_into("<I", directory, at + 42, absolute)
            at += 46 + name_len + extra_len + comment_len
        if cd_at > 0xFFFFFFFF:
            raise _zip64()
        fh.seek(cd_at)
        fh.write(directory)
        fh.seek(eocd_at + 4)
        fh.write(struct.pack("<HHHHII", 0, 0, entries, entries, cd_size, cd_at))


def _zip64() -> ArchiveProblem:
    """A zip64 span (over 4 GB, or made with zip64 forced): its records would need rewriting in zip64 form."""
    reason = "分卷 zip 使用了 zip64 格式（通常因超过 4 GB），暂不能自动合并；请改用 7z 分卷，或不分卷重新压缩后发送"
    return ArchiveProblem("FILE_UNREADABLE", reason)
