"""7z archives (py7zr), imported by intake.archive.unpack only when a package holds one.

The same rules as every archive: safe names, declared sizes and ratios checked before
anything is written, bytes counted while writing, a damaged entry dropped and the rest kept.
"""

from __future__ import annotations

from pathlib import Path

import py7zr
import py7zr.exceptions
import py7zr.io

from intake.archive.base import (
    ArchiveProblem,
    Member,
    Writer,
    check_entries,
    check_overall_ratio,
    encrypted,
    safe_parts,
    symlink_refused,
    unreadable,
)

MAX_7Z_ROUNDS = 50  # re-extractions after damaged 7z entries; beyond that the rest is reported damaged


class _CountingIO(py7zr.io.Py7zIO):
    """py7zr's output sink: writes to disk and stops writing once a limit is passed."""

    def __init__(self, writer: Writer, local: Path, name: str, compressed: int | None, filename: str = "") -> None:
        self.writer = writer
        self.filename = filename  # the entry's name as py7zr knows it
        self.fh = local.open("wb")
        self.name = name
        self.compressed = compressed
        self.length = 0
        self.problem: ArchiveProblem | None = None

    def write(self, s: bytes | bytearray) -> int:
        if self.problem is None:
            try:
                self.length += len(s)
                self.writer.count(len(s))
                self.writer.budget.check_ratio(self.name, self.length, self.compressed)
                self.fh.write(s)
            except ArchiveProblem as exc:
                self.problem = exc
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def flush(self) -> None:
        self.fh.flush()

    def size(self) -> int:
        return self.length

    def close(self) -> None:
        self.fh.close()


class _SevenZipFactory(py7zr.io.WriterFactory):
    def __init__(self, writer: Writer, wanted: dict[str, tuple[list[str], int | None]]) -> None:
        self.writer = writer
        self.wanted = wanted
        self.sinks: list[_CountingIO] = []

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        parts, compressed = self.wanted.get(filename, ([filename], None))
        local = self.writer.new_path()
        self.writer.members.append(Member(parts, local))
        sink = _CountingIO(self.writer, local, "/".join(parts), compressed, filename)
        self.sinks.append(sink)
        return sink


def extract_7z(path: Path, writer: Writer, _name: str) -> None:
    try:
        archive = py7zr.SevenZipFile(path)
    except py7zr.exceptions.PasswordRequired as exc:
        raise encrypted() from exc
    except (py7zr.exceptions.Bad7zFile, EOFError, KeyError, ValueError, OSError) as exc:
        raise unreadable("不是完整的 7z 文件") from exc
    with archive:
        if archive.needs_password():
            raise encrypted()
        infos = archive.list()
        check_entries(len(infos), writer.budget.limits)
        wanted: dict[str, tuple[list[str], int | None]] = {}
        declared = 0
        for info in infos:
            parts = safe_parts(info.filename)
            if info.is_symlink:
                raise symlink_refused(info.filename)
            if info.is_directory or not parts:
                continue
            writer.budget.check_ratio(info.filename, info.uncompressed, info.compressed)
            declared += info.uncompressed
            wanted[info.filename] = (parts, info.compressed)
        writer.budget.check_declared(declared)
        check_overall_ratio(writer.budget, declared, path)
        _7z_entries(archive, writer, wanted)


def _7z_entries(archive: py7zr.SevenZipFile, writer: Writer, wanted: dict[str, tuple[list[str], int | None]]) -> None:
    """Unpack the wanted entries; an entry that fails its CRC is dropped and the rest unpacked again.

    py7zr stops at the first entry whose CRC fails, and checks that entry again on every
    later run (it decodes through it to reach the next ones), so its stored checksum is
    forgotten before the next run: each run gets past at least one more damaged entry.
    Data that does not decode at all leaves the rest of its stream unreadable: those
    entries are reported damaged.
    """
    factory = _SevenZipFactory(writer, wanted)
    remaining = list(wanted)
    for _round in range(MAX_7Z_ROUNDS):
        start = len(factory.sinks)
        failure: Exception | None = None
        try:
            archive.extract(targets=remaining, factory=factory)
        except Exception as exc:  # a decoder or CRC failure of one entry
            failure = exc
        finally:
            for sink in factory.sinks[start:]:
                sink.close()
        for sink in factory.sinks:
            if sink.problem:
                raise sink.problem
        if failure is None:
            return
        written = [s.filename for s in factory.sinks[start:]]
        bad = _crc_entry(failure)
        if bad not in wanted or not _forget_checksum(archive, bad):
            if not writer.members and not writer.damaged:
                raise failure  # nothing of the archive could be unpacked: the archive is damaged
            if written:
                writer.drop(wanted[written[-1]][0], "压缩数据已损坏，无法解压该文件")
            remaining = [n for n in remaining if n not in written]
            break
        writer.drop(wanted[bad][0], "该文件在压缩包中的数据已损坏（校验失败）")
        remaining = [n for n in remaining if n not in written and n != bad]
        if not remaining:
            return
        archive.reset()
    for name in remaining:
        writer.drop(wanted[name][0], "压缩数据已损坏，无法解压该文件")


def _crc_entry(exc: Exception) -> str | None:
    """The entry py7zr names in a CrcError (actual, expected, filename)."""
    if isinstance(exc, py7zr.exceptions.CrcError) and len(exc.args) >= 3 and isinstance(exc.args[2], str):
        return exc.args[2]
    return None


def _forget_checksum(archive: py7zr.SevenZipFile, name: str) -> bool:
    """Let py7zr decode through a damaged entry (not written) to the next ones; False if it cannot."""
    forgotten = False
    for f in archive.files:
        info = getattr(f, "_file_info", None)  # py7zr keeps an entry's properties there (0.21-1.x)
        if f.filename == name and isinstance(info, dict) and "digest" in info:
            info["digest"] = None
            forgotten = True
    return forgotten
