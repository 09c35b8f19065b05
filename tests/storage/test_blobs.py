from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest

from storage.blobs import LocalBlobStore


def test_put_bytes_is_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    data = "延边州 材料".encode() * 1000
    sha = hashlib.sha256(data).hexdigest()

    first = blobs.put_bytes(data)
    second = blobs.put_bytes(data)

    assert first.sha256 == second.sha256 == sha
    assert first.created and not second.created
    assert first.relpath == f"{sha[:2]}/{sha[2:4]}/{sha}"
    assert (tmp_path / "store" / first.relpath).read_bytes() == data
    assert blobs.verify(sha)
    assert list((tmp_path / "store" / "tmp").iterdir()) == []  # no temporary file left behind


def test_put_file_streams_and_keeps_the_source(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    blobs = LocalBlobStore(tmp_path / "store")

    blob = blobs.put_file(source)

    assert source.exists()
    assert blob.size == source.stat().st_size
    assert blobs.read_bytes(blob.sha256) == source.read_bytes()
    assert not blobs.local_path(blob.sha256).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_a_failed_write_leaves_nothing_in_the_store(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")

    def chunks():
        yield b"half a message"
        raise OSError("disk vanished")

    with pytest.raises(OSError):
        blobs._put_chunks(chunks())

    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []


def test_leftover_temporary_files_are_swept_but_not_a_write_in_flight(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    crashed = tmp_path / "store" / "tmp" / "put-crashed"
    crashed.write_bytes(b"partial")
    os.utime(crashed, (1_700_000_000, 1_700_000_000))  # left by a writer that died long ago
    in_flight = tmp_path / "store" / "tmp" / "put-writing"
    in_flight.write_bytes(b"serve is writing this right now")
    assert blobs.sweep_tmp() == 1
    assert list((tmp_path / "store" / "tmp").iterdir()) == [in_flight]


def test_verify_detects_a_damaged_blob(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    blob = blobs.put_bytes(b"original")
    path = blobs.local_path(blob.sha256)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    assert not blobs.verify(blob.sha256)
    assert not blobs.verify("0" * 64)


def test_parallel_writers_of_the_same_content_agree(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    data = os.urandom(256 * 1024)
    results = []

    def put() -> None:
        results.append(blobs.put_bytes(data))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {r.sha256 for r in results} == {hashlib.sha256(data).hexdigest()}
    assert blobs.read_bytes(results[0].sha256) == data
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == [blobs.local_path(results[0].sha256)]


def test_rejects_names_that_are_not_digests(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    with pytest.raises(ValueError):
        blobs.local_path("../../etc/passwd")


def test_the_store_id_is_made_once_and_kept_with_the_store(tmp_path: Path) -> None:
    first = LocalBlobStore(tmp_path / "store").store_id()
    assert first == LocalBlobStore(tmp_path / "store").store_id()  # the same directory: the same store
    assert (tmp_path / "store" / "store-id").read_text().strip() == first
    assert LocalBlobStore(tmp_path / "other").store_id() != first


def test_ranges_and_streams_read_the_stored_bytes(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "store")
    data = os.urandom(100_000)
    sha = blobs.put_bytes(data).sha256
    assert blobs.read_range(sha, 99_990, 50) == data[99_990:]
    with blobs.open(sha) as fh:
        fh.seek(1234)
        assert fh.read(10) == data[1234:1244]
    assert blobs.exists(sha) and not blobs.exists("0" * 64)
