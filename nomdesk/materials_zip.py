"""One unit's materials as a .zip, streamed: the very tree `nomdesk export materials` writes for
that unit (its folder, 百姓学习之星/姓名/文件, 登记表) and the unit's roster at the root, whose
links open the files once the archive is unpacked.

Streamed because a unit's package runs to hundreds of megabytes of video: the archive is written
chunk by chunk to the response as each stored file is read (zipfile writes a data descriptor
after each entry when its output cannot seek), so memory stays at one chunk whatever the size.
Photos, videos and Office files are compressed already: they are stored, not deflated again,
which keeps the download as fast as the disk; old binary forms and texts are deflated.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from nomdesk.exports import ROSTER_FILE, roster_xlsx, unit_folders, unit_plans
from schedule.status import UnitStatus
from storage.repo import Store

CHUNK = 1 << 20
DEFLATED_SUFFIXES = frozenset({".doc", ".xls", ".et", ".wps", ".txt", ".csv", ".pdf", ".bmp", ".tif", ".tiff"})


class _Chunks:
    """A write-only, unseekable file that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_name(status: UnitStatus) -> str:
    """The download's name: the unit's folder in the tree, as a .zip."""
    return f"{unit_folders([status])[status.name]}-材料.zip"


def unit_zip(store: Store, status: UnitStatus) -> Iterator[bytes]:
    """The unit's materials zip, in chunks of about CHUNK bytes (nothing for a unit with no dossier)."""
    if status.dossier is None:
        return
    plans = unit_plans(store, [status])  # the tree's walk, once for the roster's links and the files
    out = _Chunks()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        info = zipfile.ZipInfo(ROSTER_FILE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, roster_xlsx(store, [status], plans=plans))
        yield out.take()
        for placed in plans[status.name]:
            info = zipfile.ZipInfo.from_file(placed.source, placed.target)
            if PurePosixPath(placed.target).suffix.lower() in DEFLATED_SUFFIXES:
                info.compress_type = zipfile.ZIP_DEFLATED
            with placed.source.open("rb") as source, archive.open(info, "w") as entry:
                while chunk := source.read(CHUNK):
                    entry.write(chunk)
                    yield out.take()
            yield out.take()
    yield out.take()  # the central directory
