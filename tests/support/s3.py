"""A real S3-compatible server for the tests: moto's server, started once per test session (per xdist worker).

moto speaks the S3 wire protocol (signatures, multipart uploads, ranged GETs, HEAD) over HTTP, so
it is the protocol stand-in for the object stores an office runs the desks on: Ceph RGW, MinIO,
Alibaba OSS, Tencent COS or AWS S3 itself. The desk talks to it through boto3 exactly as it talks
to those, with nothing mocked in the process under test. moto accepts any credentials.

Usage (the fixture reached through `request`, so ruff sees no redefined import)::

    from tests.support.s3 import s3_env, s3_server  # noqa: F401  (fixture)

    def test_x(request: pytest.FixtureRequest) -> None:
        env = s3_env(request.getfixturevalue("s3_server"), "bucket-x")  # NOMDESK_S3_* for a new bucket

`start_moto` / `stop_moto` run a server outside pytest (bench/s3_intake.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import free_port

ACCESS_KEY_ID = "nomdesk-test"
SECRET_ACCESS_KEY = "nomdesk-test-secret"
REGION = "us-east-1"


def _command(port: int) -> list[str]:
    venv_bin = Path(sys.executable).parent / "moto_server"
    if venv_bin.exists():
        return [str(venv_bin), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, whatever it said
    except OSError:
        return False


def start_moto() -> tuple[subprocess.Popen[bytes], str, Path]:
    """Starts a moto server on a free loopback port; returns (process, endpoint, log dir)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    logdir = Path(tempfile.mkdtemp(prefix="nomdesk-moto-"))
    log = (logdir / "moto.log").open("wb")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
    proc = subprocess.Popen(_command(port), stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    deadline = time.monotonic() + 30
    while not _answers(endpoint):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            text = (logdir / "moto.log").read_text(errors="replace")
            raise RuntimeError(f"moto server did not start on {endpoint}:\n{text}")
        time.sleep(0.1)
    return proc, endpoint, logdir


def stop_moto(proc: subprocess.Popen[bytes], logdir: Path) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(logdir, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL (http://127.0.0.1:PORT) of a moto S3 server for the whole session."""
    proc, endpoint, logdir = start_moto()
    try:
        yield endpoint
    finally:
        stop_moto(proc, logdir)


def s3_env(endpoint: str, bucket: str | None = None) -> dict[str, str]:
    """Creates `bucket` (a fresh unique one when None) on the server and returns the NOMDESK_S3_*
    environment that points a desk (or any `nomdesk` command) at it."""
    import boto3

    bucket = bucket or "nomdesk-" + uuid.uuid4().hex[:12]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    return {
        "NOMDESK_S3_ENDPOINT": endpoint,
        "NOMDESK_S3_BUCKET": bucket,
        "NOMDESK_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "NOMDESK_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "NOMDESK_S3_REGION": REGION,
    }
