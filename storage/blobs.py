"""Content-addressed blob stores: the interface, and the local one (DIR/store/ab/cd/<sha256>).

Every byte the desk keeps (raw mails, submitted files, sent replies) is a blob named by its
SHA-256. Rows point at blobs by that name, so the bytes may live in a directory of this machine
(`LocalBlobStore`) or in an S3-compatible object store every desk reaches (`storage.s3_blobs`):
several desks on one database need one store, or a desk quarantines mails whose bytes another
desk wrote to its own disk.

The local store writes a blob to a temporary file in the store, fsyncs it, renames it into place
and fsyncs the directory, so after `put_*` returns the bytes survive a crash, and a crash before
that leaves at most a stray temporary file (removed by `sweep_tmp`). Equal content is stored
once. Sources are copied, never moved: the caller deletes its source only after the database
row that points at the blob is committed.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

CHUNK = 1 << 20
TMP_SWEEP_AGE_SECONDS = 6 * 3600.0  # no write of a blob takes this long; a crashed writer's leftovers do
STORE_ID_FILE = "store-id"


class BlobStoreRefused(RuntimeError):
    """A blob store this process must not or cannot use; the message says what to configure."""


class Blob(BaseModel):
    sha256: str
    size: int
    relpath: str  # relative to the store root: ab/cd/<sha256>
    created: bool  # False when the store already held these bytes


def relpath_of(sha256: str) -> str:
    """ab/cd/<sha256>: the blob's place under any store's root (a directory, or a key prefix)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def new_store_id() -> str:
    return uuid.uuid4().hex


class BlobStore(ABC):
    """What the repositories need of a blob store, whatever holds the bytes.

    `local_path` is for the readers that need a file (the mail parser, ffprobe, unpacking, the
    dashboard's downloads): the blob itself in a local store, a verified read-through copy for a
    remote one. `store_id` names the store, so a database can refuse a desk on another store."""

    relpath_of = staticmethod(relpath_of)
    description = "blob store"  # where the bytes are, for messages

    def put_bytes(self, data: bytes) -> Blob:
        return self.put_stream(io.BytesIO(data))

    def put_file(self, source: Path) -> Blob:
        with open(source, "rb") as fh:
            return self.put_stream(fh)

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> Blob: ...

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    def read_bytes(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            return fh.read()

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The blob for reading (seekable); FileNotFoundError when the store lacks it."""

    @abstractmethod
    def read_range(self, sha256: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from `start` (fewer at the end of the blob)."""

    @abstractmethod
    def local_path(self, sha256: str) -> Path:
        """A file on this machine holding the blob's bytes (do not write to it)."""

    @abstractmethod
    def verify(self, sha256: str) -> bool:
        """True if the blob is present and its content still hashes to its name."""

    @abstractmethod
    def sweep_tmp(self, older_than: float = TMP_SWEEP_AGE_SECONDS) -> int:
        """Remove what crashed writers left; returns how many."""

    @abstractmethod
    def store_id(self) -> str:
        """This store's identity, made at its first use and the same for every desk that uses it."""


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class LocalBlobStore(BlobStore):
    """The store in a directory of this machine: DIR/store/ab/cd/<sha256>, fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self.description = f"文件库 {self.root}"

    def local_path(self, sha256: str) -> Path:
        return self.root / self.relpath_of(sha256)

    def exists(self, sha256: str) -> bool:
        return self.local_path(sha256).is_file()

    def put_stream(self, stream: BinaryIO) -> Blob:
        return self._put_chunks(iter(lambda: stream.read(CHUNK), b""))

    def open(self, sha256: str) -> BinaryIO:
        return open(self.local_path(sha256), "rb")

    def read_bytes(self, sha256: str) -> bytes:
        return self.local_path(sha256).read_bytes()

    def read_range(self, sha256: str, start: int, length: int) -> bytes:
        with self.open(sha256) as fh:
            fh.seek(start)
            return fh.read(max(0, length))

    def verify(self, sha256: str) -> bool:
        path = self.local_path(sha256)
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            return hash_stream(fh)[0] == sha256

    def sweep_tmp(self, older_than: float = TMP_SWEEP_AGE_SECONDS) -> int:
        """Only old ones: every command opens the store, and one run beside `serve` must not
        delete serve's writes in flight."""
        return sweep_old_files(self._tmp, older_than)

    def store_id(self) -> str:
        return _file_store_id(self.root / STORE_ID_FILE, self._tmp)

    def shas(self) -> Iterable[tuple[str, int]]:
        """(sha256, size) of every blob in the store (for `nomdesk store migrate`)."""
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    if len(blob.name) == 64 and blob.name.startswith(first.name + second.name):
                        yield blob.name, blob.stat().st_size

    def _put_chunks(self, chunks: Iterable[bytes]) -> Blob:
        tmp, sha, size = write_hashed(chunks, self._tmp, fsync=True)
        try:
            target = self.local_path(sha)
            if target.is_file() and target.stat().st_size == size:
                return Blob(sha256=sha, size=size, relpath=self.relpath_of(sha), created=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)  # blobs are immutable
            os.replace(tmp, target)
            fsync_dir(target.parent)
            fsync_dir(target.parent.parent)
            fsync_dir(self.root)
            return Blob(sha256=sha, size=size, relpath=self.relpath_of(sha), created=True)
        finally:
            tmp.unlink(missing_ok=True)


def write_hashed(chunks: Iterable[bytes], directory: Path, *, fsync: bool) -> tuple[Path, str, int]:
    """Write `chunks` to a new temporary file in `directory`, hashing as they come: (file, sha256,
    size). A content-addressed key is known only at the end; the caller moves the file into place
    (or uploads it) and unlinks what is left. `fsync`: the file is the blob itself, not a copy."""
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix="put-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            if fsync:
                out.flush()
                os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size


def sweep_old_files(directory: Path, older_than: float) -> int:
    removed = 0
    cutoff = time.time() - older_than
    if not directory.is_dir():
        return 0
    for leftover in directory.iterdir():
        try:
            if leftover.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def _file_store_id(path: Path, tmp_dir: Path) -> str:
    """The id in `path`, written at the first call. Two processes racing both link a complete
    file into place; the second link fails and both read the first one's id."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="id-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(new_store_id() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp_name, path)
            fsync_dir(path.parent)
        except FileExistsError:
            pass
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path.read_text().strip()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
