from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage.db import DATABASE_URL_ENV, database_url, make_engine
from storage.migrate import current_revision, declared_head, head_revision, schema_differences, upgrade_to_head
from storage.repo import Store
from tests.conftest import ROOT

TABLES = {
    "unit",
    "contact",
    "contact_address",
    "raw_message",
    "submission",
    "file",
    "nominee",
    "dossier_snapshot",
    "finding",
    "outbox",
    "audit_log",
    "mailbox_state",
    "paper_receipt",
    "key_value",
    "reminder_sent",
    "office_note",
}


@pytest.fixture
def empty_url(tmp_path: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def test_upgrade_from_empty_to_head_matches_the_tables(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        # The migrations create exactly what the SQLModel tables declare.
        assert schema_differences(engine) == []
        upgrade_to_head(engine)  # a second start changes nothing
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_reopening_a_data_dir_keeps_its_data(data_dir: Path, database_url: str | None) -> None:
    with Store.open(data_dir, database_url) as store:
        row, _ = store.raw.put(b"Message-ID: <keep@x>\r\n\r\nx", source="cli")
        key_file = (data_dir / "id-hash.key").read_bytes()
    with Store.open(data_dir, database_url) as store:
        assert store.raw.get(row.id).sha256 == row.sha256
        assert (data_dir / "id-hash.key").read_bytes() == key_file
    for sub in ("store", "inbox/new", "inbox/cur", "inbox/tmp", "outbox"):
        assert (data_dir / sub).is_dir()


def test_sqlite_is_one_file_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.state.kv_set("k", "v")
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with sqlite3.connect(tmp_path / "nomdesk.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file


def test_database_url_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert database_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'nomdesk.sqlite3'}"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u@h/db")
    assert database_url(tmp_path) == "postgresql://u@h/db"
    assert database_url(tmp_path, "sqlite:////x.db") == "sqlite:////x.db"
    # postgresql:// means psycopg 3, the driver we ship.
    assert make_engine("postgresql://u@127.0.0.1:1/db").dialect.driver == "psycopg"


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    engine = make_engine(empty_url)
    try:
        upgrade_to_head(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade_to_head(engine)
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


# A fresh process opens the store and says whether it had to load Alembic.
OPEN_AND_TELL = """
import sys
from pathlib import Path
from storage.repo import Store
Store.open(Path(sys.argv[1]), sys.argv[2] or None).close()
print("alembic" in sys.modules)
"""


def test_a_start_at_head_reads_the_version_and_leaves_alembic_unloaded(
    data_dir: Path, database_url: str | None
) -> None:
    """Alembic (~11 MB, issue 13's 120 MB link fetch) is loaded only when the schema is behind:
    the head the revision files name is Alembic's own, a new database is migrated, a current one
    is only read."""
    assert declared_head() == head_revision()

    def start() -> str:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_AND_TELL, str(data_dir), database_url or ""],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert start() == "True"  # a new database: Alembic migrates it
    assert start() == "False"  # at head: one query, no Alembic
    engine = make_engine(database_url or f"sqlite:///{data_dir / 'nomdesk.sqlite3'}")
    try:
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
