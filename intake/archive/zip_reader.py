"""Zip archives: names in any code page, encryption, and the overlapping-entries bomb.

Declared sizes and per-entry ratios are checked before anything is written; an entry whose
data is damaged or uses a method zipfile cannot read is dropped and the rest kept.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from config.faults import is_transient
from intake.archive.base import (
    Damaged,
    Writer,
    check_entries,
    encrypted,
    safe_parts,
    symlink_refused,
    unreadable,
    unsafe,
)
from intake.filenames import zip_entry_name


def extract_zip(path: Path, writer: Writer, _name: str) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise unreadable("不是完整的 zip 文件") from exc
    with zf:
        infos = zf.infolist()
        limits = writer.budget.limits
        check_entries(len(infos), limits)
        headless = _check_overlap(path, infos)
        plan: list[tuple[zipfile.ZipInfo, list[str]]] = []
        declared = 0
        for info in infos:
            name = zip_entry_name(info.filename, info.flag_bits, info.extra)
            parts = safe_parts(name)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise symlink_refused(name)
            if info.is_dir() or not parts:
                continue
            if info.header_offset in headless:
                writer.damaged.append(Damaged("/".join(parts), "该文件在压缩包中的数据缺失"))
                continue
            if info.flag_bits & 0x1 or info.compress_type == 99:  # ZipCrypto or WinZip AES
                raise encrypted()
            writer.budget.check_ratio(name, info.file_size, info.compress_size)
            declared += info.file_size
            plan.append((info, parts))
        writer.budget.check_declared(declared)
        for info, parts in plan:
            try:
                with zf.open(info) as src:
                    writer.copy(src, parts, info.compress_size)
            except NotImplementedError:  # a method zipfile cannot read (PPMd, zstd)
                writer.drop(parts, f"不支持的压缩方式 {info.compress_type}，无法解压该文件")
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                if is_transient(exc):  # the disk we write to, not the entry: unpack.extract passes it on
                    raise
                writer.drop(parts, "该文件在压缩包中的数据已损坏（校验失败）")


def _check_overlap(path: Path, infos: list[zipfile.ZipInfo]) -> set[int]:
    """Entries whose data share bytes: the overlapping-file zip bomb (CVE-2024-0450).

    Returns the offsets of entries whose local header is missing: those entries are damaged,
    the others can still be read.
    """
    ordered = sorted(infos, key=lambda i: i.header_offset)
    end = -1
    headless: set[int] = set()
    with path.open("rb") as fh:
        for info in ordered:
            if info.header_offset < end:
                raise unsafe("压缩包内的条目相互重叠（疑似压缩炸弹）", entry=info.filename)
            fh.seek(info.header_offset)
            header = fh.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                headless.add(info.header_offset)
                continue
            name_len = int.from_bytes(header[26:28], "little")
            extra_len = int.from_bytes(header[28:30], "little")
            end = info.header_offset + 30 + name_len + extra_len + info.compress_size
    if headless and len(headless) == len(infos):
        raise unreadable("文件头缺失")
    return headless
