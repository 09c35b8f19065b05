"""Tar archives and single compressed files (gzip, bzip2, xz), a compressed tar being both.

Tar headers carry no compressed sizes, so the whole archive's ratio stands in for the
per-entry one; a cut-off tar still gives the entries listed before the damage.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from intake.archive.base import (
    Damaged,
    Writer,
    check_entries,
    check_overall_ratio,
    safe_parts,
    symlink_refused,
    unreadable,
)


def extract_tar(path: Path, writer: Writer, _name: str) -> None:
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise unreadable("不是完整的 tar 文件") from exc
    with archive:
        try:
            infos = archive.getmembers()
        except _TAR_ERRORS as exc:
            # a cut-off upload: the entries listed before the damage are still material
            infos = list(archive.members)
            if not infos:
                raise unreadable("不是完整的 tar 文件") from exc
            writer.damaged.append(Damaged("", "压缩包不完整（文件末尾缺失），其后的文件未能取出"))
        check_entries(len(infos), writer.budget.limits)
        plan: list[tuple[tarfile.TarInfo, list[str]]] = []
        declared = 0
        for info in infos:
            parts = safe_parts(info.name)
            if info.issym() or info.islnk():
                raise symlink_refused(info.name)
            if not info.isfile() or not parts:
                continue
            declared += info.size
            plan.append((info, parts))
        writer.budget.check_declared(declared)
        check_overall_ratio(writer.budget, declared, path)
        for info, parts in plan:
            try:
                src = archive.extractfile(info)
                if src is None:
                    continue
                with src:
                    writer.copy(src, parts, None)
            except _TAR_ERRORS:
                writer.drop(parts, "该文件在压缩包中的数据已损坏或不完整")


_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


_STREAMS: dict[str, tuple[Callable[..., BinaryIO], tuple[str, ...]]] = {
    "gzip": (gzip.open, (".gz", ".tgz", ".gzip")),
    "bzip2": (bz2.open, (".bz2", ".tbz2")),
    "xz": (lzma.open, (".xz", ".txz")),
}


def extract_stream(path: Path, writer: Writer, name: str, kind: str) -> None:
    """A single compressed file: a tar inside is unpacked as a tar, anything else as one file."""
    if _tar_with_members(path):
        extract_tar(path, writer, name)
        return
    opener, suffixes = _STREAMS[kind]
    base = name or path.name
    for suffix in suffixes:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        base = base + ".out"
    compressed = path.stat().st_size
    try:
        with opener(path, "rb") as src:
            writer.copy(src, [base or "解压文件"], compressed)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise unreadable("压缩数据损坏") from exc


def _tar_with_members(path: Path) -> bool:
    """A compressed tar (tar.gz ...), as opposed to one compressed file; zeros read as an empty tar."""
    try:
        with tarfile.open(path, "r:*") as archive:
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError):
        return False
