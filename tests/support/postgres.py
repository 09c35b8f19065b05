"""A real PostgreSQL server for the tests, started once per test session (per xdist worker).

The server is initdb'ed into a temporary directory and listens on a free loopback port.
PostgreSQL refuses to run as root, so under root it runs as the `postgres` user. Set
NOMDESK_TEST_POSTGRES_URL to use an already running server instead. Missing binaries
fail the tests (never skip them): the setup script must `apt-get install -y postgresql`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

EXTERNAL_URL_ENV = "NOMDESK_TEST_POSTGRES_URL"
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    pytest.fail(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): "
        "run `apt-get install -y postgresql` (the project's setup script does this for CI)",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Runner:
    """Runs the server's commands as `postgres` when we are root, else as ourselves."""

    def __init__(self) -> None:
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                self.user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                pytest.fail(
                    "running as root but there is no `postgres` user to run PostgreSQL as: "
                    "`apt-get install -y postgresql` creates it",
                    pytrace=False,
                )

    def own(self, path: Path) -> None:
        if self.as_postgres:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        if self.as_postgres:
            args = ["runuser", "-u", SUPERUSER, "--", *args]
        return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


class PostgresServer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url  # connects to the maintenance database "postgres"

    def url_for(self, database: str) -> str:
        return self.base_url.rsplit("/", 1)[0] + "/" + database

    def create_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(_libpq_url(self.base_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(_libpq_url(self.base_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _start_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    runner = _Runner()
    root = Path(tempfile.mkdtemp(prefix="nomdesk-pg-"))
    os.chmod(root, 0o755)
    runner.own(root)
    data, sockets, logfile = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    runner.own(sockets)
    init = runner.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
    )
    if init.returncode != 0:
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
    port = _free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    start = runner.run(
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options, "-w", "-t", "60", "start"]
    )
    if start.returncode != 0:
        log = logfile.read_text(errors="replace") if logfile.exists() else ""
        pytest.fail(f"PostgreSQL did not start:\n{start.stdout}\n{start.stderr}\n{log}", pytrace=False)
    try:
        yield PostgresServer(f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres")
    finally:
        runner.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        yield PostgresServer(external)
        return
    yield from _start_server()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)
