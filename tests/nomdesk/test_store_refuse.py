"""Desks sharing one database must share its blob store, or they refuse to start.

Two desks on two machines, one PostgreSQL, each with its own DATA_DIR/store: a mail one stored was
a FileNotFoundError on the other, and most mails ended in quarantine. Now the second desk stops at
start with instructions; on one S3 store both run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.s3 import s3_env, s3_server  # noqa: F401  (fixture)
from tests.support.service import ServeProcess, nomdesk

pytestmark = pytest.mark.slow

SECRET = "k" * 40  # desks sharing a database share its sealing key (NOMDESK_SECRET_KEY)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("postgres_url")


def refused_start(serve: ServeProcess, timeout: float = 60.0) -> tuple[int, str]:
    serve.start(wait=False)
    assert serve.proc is not None
    deadline = time.monotonic() + timeout
    while serve.proc.poll() is None:
        assert time.monotonic() < deadline, f"the second desk did not stop:\n{serve.stderr()[-3000:]}"
        time.sleep(0.1)
    code = serve.proc.returncode
    serve.proc = None
    return code, serve.stderr()


def test_a_desk_with_its_own_store_on_a_shared_database_refuses_to_start(database: str, tmp_path: Path) -> None:
    env = {"NOMDESK_DATABASE_URL": database, "NOMDESK_SECRET_KEY": SECRET}
    with ServeProcess(tmp_path / "desk-a", env=env) as first:
        code, said = refused_start(ServeProcess(tmp_path / "desk-b", env=env))
        assert first.healthy()  # the first desk runs on

    assert code == 1
    assert "无法启动" in said and "NOMDESK_S3_BUCKET" in said and "同一个数据目录" in said
    assert "Refusing to start" in said
    assert "Traceback" not in said
    status = nomdesk("status", "--data-dir", tmp_path / "desk-b", env=env)  # any command says the same
    assert status.returncode == 1
    assert "无法启动" in status.stderr and "Traceback" not in status.stderr
    again = nomdesk("status", "--data-dir", tmp_path / "desk-a", env=env)
    assert again.returncode == 0, again.stderr


def test_desks_on_one_object_store_share_a_database(database: str, s3_server: str, tmp_path: Path) -> None:  # noqa: F811
    env = {"NOMDESK_DATABASE_URL": database, "NOMDESK_SECRET_KEY": SECRET, **s3_env(s3_server, "shared-desks")}
    with ServeProcess(tmp_path / "desk-a", env=env) as first, ServeProcess(tmp_path / "desk-b", env=env) as second:
        assert first.healthy() and second.healthy()
    other_bucket = {**env, **s3_env(s3_server, "another-bucket")}
    code, said = refused_start(ServeProcess(tmp_path / "desk-c", env=other_bucket))
    assert code == 1 and "NOMDESK_S3_ENDPOINT" in said and "another-bucket" in said


def test_a_bucket_that_is_not_there_stops_the_desk_with_what_to_check(s3_server: str, tmp_path: Path) -> None:  # noqa: F811
    env = {**s3_env(s3_server, "made-bucket"), "NOMDESK_S3_BUCKET": "no-such-bucket"}
    done = nomdesk("status", "--data-dir", tmp_path / "var", env=env)
    assert done.returncode == 1
    assert "NOMDESK_S3_BUCKET" in done.stderr and "no-such-bucket" in done.stderr
    assert "Traceback" not in done.stderr
