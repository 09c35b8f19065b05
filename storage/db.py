"""The database engine: which database (SQLite under the data dir, or a URL), and how to talk to it.

SQLite runs in WAL mode with full fsync so a committed row survives a crash, and every
write transaction starts with BEGIN IMMEDIATE: two writers queue on the busy timeout
instead of failing with "database is locked" when a read lock would need upgrading.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

DATABASE_URL_ENV = "NOMDESK_DATABASE_URL"
SQLITE_FILENAME = "nomdesk.sqlite3"
SQLITE_BUSY_TIMEOUT_S = 30
READ_ONLY_OPTION = "nomdesk_read_only"  # an execution option: the transaction only reads


def database_url(data_dir: Path, url: str | None = None) -> str:
    """The explicit URL, else NOMDESK_DATABASE_URL, else DIR/nomdesk.sqlite3."""
    chosen = url or os.environ.get(DATABASE_URL_ENV)
    if chosen:
        return chosen
    return f"sqlite:///{(Path(data_dir) / SQLITE_FILENAME).resolve()}"


def _normalise(url: str) -> str:
    """postgresql:// means psycopg 3 here (the only driver we ship), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = _normalise(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only session (Repo._read_session) takes no write lock: in WAL mode readers
        # see the last commit and neither wait for nor block the writer.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
