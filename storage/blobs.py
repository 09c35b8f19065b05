"""A content-addressed file store: DIR/store/ab/cd/<sha256>.

A blob is written to a temporary file in the store, fsynced, renamed into place and the
directory fsynced, so after `put_*` returns the bytes survive a crash, and a crash before
that leaves at most a stray temporary file (removed by `sweep_tmp`). Equal content is
stored once. Sources are copied, never moved: the caller deletes its source only after
the database row that points at the blob is committed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

CHUNK = 1 << 20
TMP_SWEEP_AGE_SECONDS = 6 * 3600.0  # no write of a blob takes this long; a crashed writer's leftovers do


class Blob(BaseModel):
    sha256: str
    size: int
    relpath: str  # relative to the store root: ab/cd/<sha256>
    created: bool  # False when the store already held these bytes


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def relpath_of(sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def path_of(self, sha256: str) -> Path:
        return self.root / self.relpath_of(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_bytes(self, data: bytes) -> Blob:
        return self._put_chunks([data])

    def put_file(self, source: Path) -> Blob:
        with open(source, "rb") as fh:
            return self.put_stream(fh)

    def put_stream(self, stream: BinaryIO) -> Blob:
        return self._put_chunks(iter(lambda: stream.read(CHUNK), b""))

    def read_bytes(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def verify(self, sha256: str) -> bool:
        """True if the blob is present and its content still hashes to its name."""
        path = self.path_of(sha256)
        if not path.is_file():
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    def sweep_tmp(self, older_than: float = TMP_SWEEP_AGE_SECONDS) -> int:
        """Remove temporary files left by a crashed writer; returns how many. Only old ones: every
        command opens the store, and one run beside `serve` must not delete serve's writes in flight."""
        removed = 0
        cutoff = time.time() - older_than
        for leftover in self._tmp.iterdir():
            try:
                if leftover.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def _put_chunks(self, chunks: Iterable[bytes]) -> Blob:
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path_of(sha)
            if target.is_file() and target.stat().st_size == size:
                return Blob(sha256=sha, size=size, relpath=self.relpath_of(sha), created=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)  # blobs are immutable
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            _fsync_dir(target.parent.parent)
            _fsync_dir(self.root)
            return Blob(sha256=sha, size=size, relpath=self.relpath_of(sha), created=True)
        finally:
            tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
