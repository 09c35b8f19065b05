"""Copy a local blob store into an object store, every blob verified, resumable.

`nomdesk store migrate` runs this before the database is switched to the object store: a blob is
counted as moved only after the object store handed back bytes that hash to its name. A run cut
short (network gone, Ctrl-C) starts again where it stopped: blobs verified before are listed in
DATA_DIR/cache/migrate-verified, and a key already in the bucket with the right size is re-hashed
from the bucket instead of uploaded again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from storage.blobs import LocalBlobStore, hash_stream
from storage.s3_blobs import S3BlobStore

WORKERS = 4  # blobs in flight at once (a big one is itself sent in parallel parts)


class LocalBlobDamaged(Exception):
    """A local blob that no longer hashes to its name: uploading it would spread the damage."""


@dataclass
class MigrationResult:
    blobs: int = 0
    bytes: int = 0
    uploaded: int = 0
    already_there: int = 0  # verified in the bucket by this run or an earlier one
    damaged: list[str] = field(default_factory=list)  # local blobs that do not hash to their name
    failed: list[tuple[str, str]] = field(default_factory=list)  # (sha256, why)

    @property
    def complete(self) -> bool:
        return not self.damaged and not self.failed


def plan(local: LocalBlobStore) -> list[tuple[str, int]]:
    """(sha256, size) of every blob to move, in key order."""
    return list(local.shas())


def migrate_blobs(
    local: LocalBlobStore,
    target: S3BlobStore,
    journal: Path,
    blobs: list[tuple[str, int]],
    advance: Callable[[int], None] = lambda _n: None,
) -> MigrationResult:
    """Upload and verify every blob in `blobs`; `advance(bytes)` after each one."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    done = set(journal.read_text().split()) if journal.exists() else set()
    result = MigrationResult(blobs=len(blobs), bytes=sum(size for _, size in blobs))
    lock = threading.Lock()

    def one(sha: str, size: int) -> None:
        try:
            uploaded = _move(local, target, sha, size, done)
        except LocalBlobDamaged:
            with lock:
                result.damaged.append(sha)
            advance(size)
            return
        except Exception as exc:  # reported per blob: the run goes on and says which failed
            with lock:
                result.failed.append((sha, f"{type(exc).__name__}: {exc}"))
            advance(size)
            return
        with lock:
            if uploaded:
                result.uploaded += 1
            else:
                result.already_there += 1
            if sha not in done:
                with open(journal, "a") as out:
                    out.write(sha + "\n")
                done.add(sha)
        advance(size)

    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(one, sha, size) for sha, size in blobs]:
            future.result()
    return result


def _move(local: LocalBlobStore, target: S3BlobStore, sha: str, size: int, done: set[str]) -> bool:
    """True when uploaded now; False when the bucket already held it, verified."""
    if sha in done and target.head_size(sha) == size:
        return False
    if target.head_size(sha) == size and target.verify(sha):
        return False
    source = local.local_path(sha)
    with open(source, "rb") as fh:
        if hash_stream(fh)[0] != sha:
            raise LocalBlobDamaged(sha)
    target.upload_verified(source, sha)
    return True
