"""Unpacking one archive (zip, 7z, rar, tar, gzip/bzip2/xz) safely into a staging folder.

Everything is checked before a byte is written (entry count, names, symlinks, declared
sizes, overlapping zip entries) and bytes are counted again while writing, because
headers lie. A refused archive leaves nothing behind and gives its bytes back to the
budget; recursion into archives inside archives is the caller's job (intake/source.py).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import resource
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import rarfile

from config.campaign import Limits
from intake.blockwriter import BackgroundWriter
from intake.filenames import UnsafePath, entry_parts, zip_entry_name

CHUNK = 1 << 20
UNAR_TIMEOUT_SECONDS = 3600


class ArchiveProblem(Exception):
    """Why an archive was not unpacked: a FileProblem code, a Chinese reason and its numbers."""

    def __init__(self, code: str, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.params = params


def rejected(reason: str, **params: Any) -> ArchiveProblem:
    return ArchiveProblem("ARCHIVE_REJECTED", reason, **params)


def encrypted() -> ArchiveProblem:
    return ArchiveProblem("ARCHIVE_ENCRYPTED", "压缩包设有密码，无法解压")


def unreadable(detail: str = "") -> ArchiveProblem:
    reason = "压缩包已损坏或不完整，无法解压"
    return ArchiveProblem("FILE_UNREADABLE", f"{reason}（{detail}）" if detail else reason)


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


@dataclass
class Budget:
    """Bytes unpacked so far in one submission, against the campaign's limits."""

    limits: Limits
    used: int = 0

    def too_much(self, extra: int) -> ArchiveProblem:
        limit = self.limits.max_unpacked_bytes
        return rejected(f"解压后超过 {human_bytes(limit)}", limit=limit, value=self.used + extra)

    def check_declared(self, declared: int) -> None:
        if self.used + declared > self.limits.max_unpacked_bytes:
            raise self.too_much(declared)

    def check_ratio(self, name: str, size: int, compressed: int | None) -> None:
        """One entry inflating more than max_ratio times its compressed size past ratio_min_bytes."""
        limits = self.limits
        if compressed is None or size <= limits.ratio_min_bytes:
            return
        ratio = size / max(compressed, 1)
        if ratio > limits.max_ratio:
            raise rejected(
                f"“{name}”的压缩比超过 {limits.max_ratio} 倍（疑似压缩炸弹）",
                limit=limits.max_ratio,
                value=round(ratio),
                entry=name,
            )


@dataclass
class Member:
    parts: list[str]  # the entry's folders and file name inside the archive
    local: Path


@dataclass
class Damaged:
    """An entry that could not be unpacked while the rest of its archive could."""

    entry: str  # the entry's path inside the archive; "" for the archive itself (its end is missing)
    reason: str


@dataclass
class Unpacked:
    members: list[Member]
    damaged: list[Damaged]


@dataclass
class _Writer:
    """Writes entries to numbered files in the staging folder, counting every byte."""

    dest: Path
    budget: Budget
    written: int = 0
    members: list[Member] = field(default_factory=list)
    damaged: list[Damaged] = field(default_factory=list)

    def drop(self, parts: list[str], reason: str) -> None:
        """One entry is damaged: forget what was written of it, remember why, go on with the rest."""
        for member in [m for m in self.members if m.parts == parts]:
            member.local.unlink(missing_ok=True)
            self.members.remove(member)
        self.damaged.append(Damaged("/".join(parts), reason))

    def new_path(self) -> Path:
        return self.dest / f"{len(self.members):05d}"

    def copy(self, src: BinaryIO, parts: list[str], compressed: int | None) -> None:
        local = self.new_path()
        size = 0
        name = "/".join(parts)
        with local.open("wb") as out, BackgroundWriter(out) as writer:
            self.members.append(Member(parts, local))
            while chunk := src.read(CHUNK):
                size += len(chunk)
                self.count(len(chunk))
                self.budget.check_ratio(name, size, compressed)
                writer.write(chunk)

    def count(self, n: int) -> None:
        self.written += n
        if self.budget.used + self.written > self.budget.limits.max_unpacked_bytes:
            raise self.budget.too_much(self.written)


def _check_entries(count: int, limits: Limits) -> None:
    if count > limits.max_archive_entries:
        raise rejected(
            f"压缩包内文件超过 {limits.max_archive_entries} 个（共 {count} 个）",
            limit=limits.max_archive_entries,
            value=count,
        )


def _safe_parts(name: str) -> list[str]:
    try:
        return entry_parts(name)
    except UnsafePath:
        raise rejected(f"压缩包内的路径越出目录：{name}", entry=name) from None


def _symlink(name: str) -> ArchiveProblem:
    return rejected(f"压缩包内含符号链接：{name}", entry=name)


def _check_overall_ratio(budget: Budget, declared: int, archive: Path) -> None:
    """For formats without per-entry compressed sizes (solid 7z/rar, tar.gz): the whole archive's ratio."""
    budget.check_ratio(archive.name, declared, archive.stat().st_size)


def extract(path: Path, kind: str, dest: Path, budget: Budget, name: str = "") -> Unpacked:
    """Unpack archive `path` of sniffed type `kind` into the empty folder `dest`.

    Returns the files (directories and symlinks excluded) and the entries that were damaged
    (one bad entry never discards the rest), or raises ArchiveProblem when the archive as a
    whole cannot be opened or is refused; then `dest` is removed and the budget is left as it was.
    """
    dest.mkdir(parents=True, exist_ok=True)
    writer = _Writer(dest, budget)
    try:
        EXTRACTORS[kind](path, writer, name)
    except ArchiveProblem:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except Exception as exc:  # any decoder failure is a damaged archive, never a crash
        shutil.rmtree(dest, ignore_errors=True)
        raise unreadable(type(exc).__name__) from exc
    budget.used += writer.written
    return Unpacked(writer.members, writer.damaged)


def _zip(path: Path, writer: _Writer, _name: str) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise unreadable("不是完整的 zip 文件") from exc
    with zf:
        infos = zf.infolist()
        limits = writer.budget.limits
        _check_entries(len(infos), limits)
        headless = _check_overlap(path, infos)
        plan: list[tuple[zipfile.ZipInfo, list[str]]] = []
        declared = 0
        for info in infos:
            name = zip_entry_name(info.filename, info.flag_bits, info.extra)
            parts = _safe_parts(name)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise _symlink(name)
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
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
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
                raise rejected("压缩包内的条目相互重叠（疑似压缩炸弹）", entry=info.filename)
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


def _7z(path: Path, writer: _Writer, name: str) -> None:
    # py7zr (and the crypto it loads) costs 0.1 s to import: only for packages that hold a 7z.
    from intake.archive_7z import extract_7z

    extract_7z(path, writer, name)


def _rar(path: Path, writer: _Writer, _name: str) -> None:
    """Listed and checked by rarfile, unpacked in one run of `unar` (fast on solid archives)."""
    try:
        archive = rarfile.RarFile(path)
        infos = archive.infolist()
    except rarfile.PasswordRequired as exc:  # encrypted headers
        raise encrypted() from exc
    except rarfile.NeedFirstVolume as exc:
        raise unreadable("分卷压缩包，缺少第一卷") from exc
    except (rarfile.Error, OSError) as exc:
        raise unreadable("不是完整的 rar 文件") from exc
    with archive:
        _check_entries(len(infos), writer.budget.limits)
        declared = 0
        largest = 0
        for info in infos:
            parts = _safe_parts(info.filename)
            if info.is_symlink() or info.file_redir:
                raise _symlink(info.filename)
            if info.is_dir() or not parts:
                continue
            if info.needs_password():
                raise encrypted()
            writer.budget.check_ratio(info.filename, info.file_size, info.compress_size)
            declared += info.file_size
            largest = max(largest, info.file_size)
        writer.budget.check_declared(declared)
        _check_overall_ratio(writer.budget, declared, path)
    _unar(path, writer, largest)


def _unar(path: Path, writer: _Writer, largest: int) -> None:
    staging = writer.dest / "unar"
    staging.mkdir()
    cap = max(largest, 1) + CHUNK  # no single file may grow past what the headers declared

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    result = subprocess.run(
        ["unar", "-q", "-f", "-D", "-p", "", "-o", str(staging), str(path)],
        capture_output=True,
        timeout=UNAR_TIMEOUT_SECONDS,
        preexec_fn=limit_file_size,
        check=False,
    )
    if result.returncode != 0:
        raise unreadable("解压失败")
    for root, dirs, files in os.walk(staging):
        dirs.sort()
        for fname in sorted(files):
            full = Path(root, fname)
            if full.is_symlink():
                raise _symlink(fname)
            parts = list(full.relative_to(staging).parts)
            local = writer.new_path()
            full.rename(local)
            writer.members.append(Member(parts, local))
            writer.count(local.stat().st_size)
    shutil.rmtree(staging, ignore_errors=True)


def _tar(path: Path, writer: _Writer, _name: str) -> None:
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
        _check_entries(len(infos), writer.budget.limits)
        plan: list[tuple[tarfile.TarInfo, list[str]]] = []
        declared = 0
        for info in infos:
            parts = _safe_parts(info.name)
            if info.issym() or info.islnk():
                raise _symlink(info.name)
            if not info.isfile() or not parts:
                continue
            declared += info.size
            plan.append((info, parts))
        writer.budget.check_declared(declared)
        _check_overall_ratio(writer.budget, declared, path)
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


def _compressed_stream(path: Path, writer: _Writer, name: str, kind: str) -> None:
    """A single compressed file: a tar inside is unpacked as a tar, anything else as one file."""
    if _tar_with_members(path):
        _tar(path, writer, name)
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


EXTRACTORS: dict[str, Callable[[Path, _Writer, str], None]] = {
    "zip": _zip,
    "7z": _7z,
    "rar": _rar,
    "tar": _tar,
    "gzip": lambda p, w, n: _compressed_stream(p, w, n, "gzip"),
    "bzip2": lambda p, w, n: _compressed_stream(p, w, n, "bzip2"),
    "xz": lambda p, w, n: _compressed_stream(p, w, n, "xz"),
}

__all__ = ["ArchiveProblem", "Budget", "Member", "extract", "human_bytes"]
