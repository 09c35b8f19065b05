"""The S3 blob store against a real S3 server (moto's, the stand-in for Ceph RGW / MinIO / OSS / COS)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import boto3
import pytest

from storage.blobs import relpath_of
from storage.s3_blobs import S3BlobStore
from tests.support.s3 import s3_env, s3_server  # noqa: F401  (fixture)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> str:
    """The session's moto server."""
    return request.getfixturevalue("s3_server")


def make_store(endpoint: str, tmp_path: Path, *, prefix: str = "desk/", cache_max_bytes: int = 1 << 30) -> S3BlobStore:
    env = s3_env(endpoint)
    return S3BlobStore(
        bucket=env["NOMDESK_S3_BUCKET"],
        endpoint=endpoint,
        access_key_id=env["NOMDESK_S3_ACCESS_KEY_ID"],
        secret_access_key=env["NOMDESK_S3_SECRET_ACCESS_KEY"],
        region=env["NOMDESK_S3_REGION"],
        prefix=prefix,
        cache_dir=tmp_path / "cache" / "blobs",
        cache_max_bytes=cache_max_bytes,
    )


def twin(store: S3BlobStore, tmp_path: Path, name: str) -> S3BlobStore:
    """Another desk (another machine: its own cache) on the same bucket."""
    return S3BlobStore(
        bucket=store.bucket,
        endpoint=store.endpoint,
        access_key_id="other-desk",
        secret_access_key="other-secret",
        region="us-east-1",
        prefix=store.prefix,
        cache_dir=tmp_path / name / "cache" / "blobs",
    )


def test_a_blob_is_kept_under_its_hash_and_read_back_by_another_desk(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path)
    data = "延边州 材料".encode() * 5000
    sha = hashlib.sha256(data).hexdigest()

    blob = store.put_bytes(data)

    assert (blob.sha256, blob.size, blob.relpath, blob.created) == (sha, len(data), relpath_of(sha), True)
    keys = [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert keys == [f"desk/{sha[:2]}/{sha[2:4]}/{sha}"]
    other = twin(store, tmp_path, "other")
    assert other.exists(sha) and not other.exists("0" * 64)
    assert other.read_bytes(sha) == data
    assert other.read_range(sha, 10, 20) == data[10:30]
    assert other.read_range(sha, len(data) - 5, 100) == data[-5:]
    assert other.read_range(sha, len(data) + 5, 100) == b""
    with other.open(sha) as fh:
        fh.seek(len(data) - 100)
        assert fh.read() == data[-100:]
    path = other.local_path(sha)
    assert path.read_bytes() == data
    assert path.is_relative_to(tmp_path / "other" / "cache" / "blobs")
    assert other.verify(sha) and not other.verify("0" * 64)
    with pytest.raises(FileNotFoundError):
        other.local_path("1" * 64)
    with pytest.raises(FileNotFoundError):
        other.open("1" * 64)


def test_equal_content_is_uploaded_once(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path)
    data = os.urandom(256 * 1024)
    results = []

    def put(desk: S3BlobStore) -> None:
        results.append(desk.put_bytes(data))

    put(store)
    desks = [twin(store, tmp_path, f"d{i}") for i in range(4)]
    threads = [threading.Thread(target=put, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {r.sha256 for r in results} == {hashlib.sha256(data).hexdigest()}
    assert [r.created for r in results] == [True, False, False, False, False]
    assert store.client.list_objects_v2(Bucket=store.bucket)["KeyCount"] == 1


def test_a_big_stream_goes_up_in_parts_and_comes_back_whole(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path)
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(20 * 1024 * 1024 + 321))
    sha = hashlib.sha256(source.read_bytes()).hexdigest()

    with open(source, "rb") as fh:
        blob = store.put_stream(fh)

    head = store.client.head_object(Bucket=store.bucket, Key=store.key_of(sha))
    assert blob.sha256 == sha and head["ContentLength"] == source.stat().st_size
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload's ETag: two 16 MB parts
    other = twin(store, tmp_path, "other")
    assert other.verify(sha)
    assert other.read_range(sha, 20 * 1024 * 1024, 1000) == source.read_bytes()[20 * 1024 * 1024 :][:321]
    assert other.local_path(sha).read_bytes() == source.read_bytes()


def test_a_damaged_object_is_never_handed_out_as_the_blob(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path)
    sha = store.put_bytes(b"original bytes").sha256
    store.client.put_object(Bucket=store.bucket, Key=store.key_of(sha), Body=b"tampered bytes")
    other = twin(store, tmp_path, "other")

    assert not other.verify(sha)
    with pytest.raises(OSError):
        other.local_path(sha)
    assert not other.cache_path(sha).exists()


def test_the_read_cache_is_bounded_oldest_first(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path, cache_max_bytes=3 * 1024 * 1024)
    shas = [store.put_bytes(os.urandom(1024 * 1024)).sha256 for _ in range(3)]
    for age, sha in enumerate(shas):  # handed out long ago, the first longest ago
        os.utime(store.cache_path(sha), (1_700_000_000 + age, 1_700_000_000 + age))

    newest = store.put_bytes(os.urandom(1024 * 1024)).sha256

    cached = [sha for sha in [*shas, newest] if store.cache_path(sha).exists()]
    assert cached == [shas[2], newest]  # down to 90% of the bound: the two oldest went
    assert store.local_path(shas[0]).exists()  # fetched again on demand


def test_the_store_id_is_one_object_every_desk_reads(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, tmp_path, prefix="")
    ids = {twin(store, tmp_path, f"d{i}").store_id() for i in range(3)} | {store.store_id()}
    assert len(ids) == 1
    body = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    ).get_object(Bucket=store.bucket, Key="nomdesk-store-id")["Body"]
    assert body.read().decode().strip() == ids.pop()
