"""What every archive reader shares: the refusals, the byte budget, safe names and the writer.

Everything is checked before a byte is written (entry count, names, symlinks, declared
sizes) and bytes are counted again while writing, because headers lie. The format readers
(zip_reader, sevenzip_reader, rar_reader, tar_reader) differ only in how they list and read
entries; the limits they answer to are the ones here, so a bomb is refused alike in every format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from config.campaign import Limits
from intake.blockwriter import BackgroundWriter
from intake.filenames import UnsafePath, entry_parts

CHUNK = 1 << 20


class ArchiveProblem(Exception):
    """Why an archive was not unpacked: a FileProblem code, a Chinese reason and its numbers."""

    def __init__(self, code: str, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.params = params


def rejected(reason: str, **params: Any) -> ArchiveProblem:
    return ArchiveProblem("ARCHIVE_REJECTED", reason, **params)


# What a unit reads of an archive refused for safety (an entry escaping the folder, a symlink, a bomb):
# the clerk cannot act on "路径越出目录", only re-pack. The technical `detail` goes to the finding's
# evidence, for the office.
UNSAFE_REASON = "内容异常，无法安全解压"


def unsafe(detail: str, **params: Any) -> ArchiveProblem:
    return rejected(UNSAFE_REASON, detail=detail, **params)


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
        return rejected(f"解压后超过 {human_bytes(limit)}，未解压", limit=limit, value=self.used + extra)

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
            raise unsafe(
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
class Writer:
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


def check_entries(count: int, limits: Limits) -> None:
    if count > limits.max_archive_entries:
        raise rejected(
            f"内含文件超过 {limits.max_archive_entries} 个（共 {count} 个），未解压",
            limit=limits.max_archive_entries,
            value=count,
        )


def safe_parts(name: str) -> list[str]:
    try:
        return entry_parts(name)
    except UnsafePath:
        raise unsafe(f"压缩包内的路径越出目录：{name}", entry=name) from None


def symlink_refused(name: str) -> ArchiveProblem:
    return unsafe(f"压缩包内含符号链接：{name}", entry=name)


def check_overall_ratio(budget: Budget, declared: int, archive: Path) -> None:
    """For formats without per-entry compressed sizes (solid 7z/rar, tar.gz): the whole archive's ratio."""
    budget.check_ratio(archive.name, declared, archive.stat().st_size)
