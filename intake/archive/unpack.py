"""Unpacking one archive (zip, 7z, rar, tar, gzip/bzip2/xz) safely into a staging folder.

The sniffed type picks the reader. A refused archive leaves nothing behind and gives its
bytes back to the budget; recursion into archives inside archives is the caller's job
(intake/source.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from config.faults import TransientFailure, is_transient
from intake.archive.base import ArchiveProblem, Budget, Unpacked, Writer, unreadable
from intake.archive.rar_reader import extract_rar
from intake.archive.tar_reader import extract_stream, extract_tar
from intake.archive.zip_reader import extract_zip


def extract(path: Path, kind: str, dest: Path, budget: Budget, name: str = "") -> Unpacked:
    """Unpack archive `path` of sniffed type `kind` into the empty folder `dest`.

    Returns the files (directories and symlinks excluded) and the entries that were damaged
    (one bad entry never discards the rest), or raises ArchiveProblem when the archive as a
    whole cannot be opened or is refused; then `dest` is removed and the budget is left as it was.
    A transient error (a full disk while writing) is no finding about the archive: it is raised
    as config.faults.TransientFailure, and the desk reads the whole mail again later.
    """
    dest.mkdir(parents=True, exist_ok=True)
    writer = Writer(dest, budget)
    try:
        EXTRACTORS[kind](path, writer, name)
    except Exception as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if is_transient(exc):  # a full disk, an I/O error: not the archive's fault, the desk retries
            raise TransientFailure(f"unpacking {name or path.name}") from exc
        if isinstance(exc, ArchiveProblem):
            raise
        raise unreadable(type(exc).__name__) from exc  # any decoder failure is a damaged archive, never a crash
    budget.used += writer.written
    return Unpacked(writer.members, writer.damaged)


def _7z(path: Path, writer: Writer, name: str) -> None:
    # py7zr (and the crypto it loads) costs 0.1 s to import: only for packages that hold a 7z.
    from intake.archive.sevenzip_reader import extract_7z

    extract_7z(path, writer, name)


EXTRACTORS: dict[str, Callable[[Path, Writer, str], None]] = {
    "zip": extract_zip,
    "7z": _7z,
    "rar": extract_rar,
    "tar": extract_tar,
    "gzip": lambda p, w, n: extract_stream(p, w, n, "gzip"),
    "bzip2": lambda p, w, n: extract_stream(p, w, n, "bzip2"),
    "xz": lambda p, w, n: extract_stream(p, w, n, "xz"),
}
