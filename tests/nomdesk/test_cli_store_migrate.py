"""`nomdesk store migrate`: an office's desk moves from its data directory's store to S3.

The desk took mails on its local store; the command copies every blob to the bucket, verified,
and switches the database to it. A desk started on the bucket (the local store moved away) then
reads every mail, file and reply, each hashing to its name; a desk on the old store now refuses.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from config.campaign import Campaign
from storage.repo import Store
from storage.s3_blobs import S3BlobStore
from tests.support.packages import build_eml, complete_city_package
from tests.support.s3 import s3_env, s3_server  # noqa: F401  (fixture)
from tests.support.service import nomdesk

pytestmark = pytest.mark.slow


@pytest.fixture
def bucket_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return s3_env(request.getfixturevalue("s3_server"))


def bucket_store(env: dict[str, str], cache: Path) -> S3BlobStore:
    return S3BlobStore(
        bucket=env["NOMDESK_S3_BUCKET"],
        endpoint=env["NOMDESK_S3_ENDPOINT"],
        access_key_id=env["NOMDESK_S3_ACCESS_KEY_ID"],
        secret_access_key=env["NOMDESK_S3_SECRET_ACCESS_KEY"],
        region=env["NOMDESK_S3_REGION"],
        cache_dir=cache,
    )


def every_blob(store: Store) -> dict[str, Path]:
    """sha256 -> a local file with its bytes, for every mail, submitted file and reply the database names."""
    found: dict[str, Path] = {}
    for raw in store.raw.all(limit=10_000):
        found[raw.sha256] = store.raw.path(raw)
        submission = store.submissions.for_raw(raw.id)
        for file in store.submissions.files(submission.id) if submission else []:
            found[file.sha256] = store.submissions.file_path(file)
    for row in store.outbox.all(limit=10_000):
        if row.eml_sha256:
            found[row.eml_sha256] = store.blobs.local_path(row.eml_sha256)
    return found


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrate_moves_every_blob_and_a_desk_on_the_bucket_reads_them(
    campaign: Campaign, bucket_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "var"
    mail = build_eml(complete_city_package(campaign))
    took = nomdesk("ingest", "--data-dir", data, mail)
    assert took.returncode == 0, took.stderr
    with Store.open(data) as store:
        before = {sha: sha_of(path) for sha, path in every_blob(store).items()}
    assert len(before) > 5 and all(sha == found for sha, found in before.items())

    refused = nomdesk("status", "--data-dir", data, env=bucket_env)  # not migrated yet: the bucket is not its store
    assert refused.returncode == 1 and "nomdesk store migrate" in refused.stderr

    moved = nomdesk("store", "migrate", "--data-dir", data, env=bucket_env)
    assert moved.returncode == 0, moved.stderr
    assert "迁移完成" in moved.stdout and "全部在对象存储中校验无误" in moved.stdout

    again = nomdesk("store", "migrate", "--data-dir", data, env=bucket_env)  # resumable: nothing sent twice
    assert again.returncode == 0, again.stderr
    assert "本次上传 0 个" in again.stdout

    shutil.move(data / "store", tmp_path / "old-store")  # the desk on the bucket has no local copy
    status = nomdesk("status", "--data-dir", data, env=bucket_env)
    assert status.returncode == 0, status.stderr
    exported = nomdesk("export", "materials", tmp_path / "out", "--data-dir", data, env=bucket_env)
    assert exported.returncode == 0, exported.stderr
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    with Store.open(data, blobs=bucket_store(bucket_env, tmp_path / "fresh-cache")) as store:
        after = every_blob(store)
    assert set(after) == set(before)
    assert all(sha_of(path) == sha for sha, path in after.items())  # every blob read from the bucket, intact
    assert all(path.is_relative_to(tmp_path / "fresh-cache") for path in after.values())

    shutil.move(tmp_path / "old-store", data / "store")
    local = nomdesk("status", "--data-dir", data)  # the database is on the bucket now: the old store refuses
    assert local.returncode == 1 and "NOMDESK_S3_BUCKET" in local.stderr


def test_a_damaged_copy_in_the_bucket_is_sent_again(
    campaign: Campaign, bucket_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "var"
    took = nomdesk("ingest", "--data-dir", data, build_eml(complete_city_package(campaign)))
    assert took.returncode == 0, took.stderr
    bucket = bucket_store(bucket_env, tmp_path / "cache")
    with Store.open(data) as store:
        raw = store.raw.all()[0]
        size = raw.size
    bucket.client.put_object(Bucket=bucket.bucket, Key=bucket.key_of(raw.sha256), Body=b"x" * size)  # a bad copy

    moved = nomdesk("store", "migrate", "--data-dir", data, env=bucket_env)

    assert moved.returncode == 0, moved.stderr
    assert bucket.verify(raw.sha256)
