"""Several campaigns in one database: a keyed campaign's rows live in its own PostgreSQL schema (or
its own SQLite file), migrations and their version table included; the default stays where it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import database_url, make_engine, schema_name, sqlite_filename
from storage.migrate import current_revision, declared_head, schema_differences
from storage.repo import CampaignMismatch, Store
from tests.conftest import ROOT

MAIL_A = b"Message-ID: <a@jilin>\r\nSubject: A\r\n\r\nfor campaign A"
MAIL_B = b"Message-ID: <b@liaoning>\r\nSubject: B\r\n\r\nfor campaign B"


def test_names_of_a_campaigns_schema_and_file() -> None:
    assert schema_name("") == "public" and sqlite_filename("") == "nomdesk.sqlite3"
    assert schema_name("jilin-2021") == "campaign_jilin_2021"
    assert sqlite_filename("jilin-2021") == "nomdesk-jilin-2021.sqlite3"
    with pytest.raises(ValueError):
        schema_name('x"; DROP SCHEMA public; --')


def test_an_explicit_sqlite_url_gets_the_key_before_its_suffix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert database_url(tmp_path, url, "a") == f"sqlite:///{tmp_path / 'desk-a.db'}"
    assert database_url(tmp_path, url) == url
    assert database_url(tmp_path, "postgresql://u@h/db", "a") == "postgresql://u@h/db"


def _schemas_of(url: str) -> dict[str, set[str]]:
    """Every non-system schema of the database and its tables, read without any search_path."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).all()
    finally:
        engine.dispose()
    found: dict[str, set[str]] = {}
    for schema, table in rows:
        found.setdefault(schema, set()).add(table)
    return found


def test_postgres_keyed_campaigns_each_get_a_schema_with_their_own_migrations(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        Store.open(tmp_path / "a", postgres_url, campaign_key="jilin-2021") as a,
        Store.open(tmp_path / "b", postgres_url, campaign_key="liaoning-2022") as b,
    ):
        assert a.campaign_key == "jilin-2021"
        stored_a = a.raw.put(MAIL_A, source="cli")[0].sha256
        b.raw.put(MAIL_B, source="cli")
        assert [r.sha256 for r in a.raw.all()] != [r.sha256 for r in b.raw.all()]
        assert len(a.raw.all()) == 1 and len(b.raw.all()) == 1
        with a.engine.connect() as connection:
            # Another campaign's table cannot even be named without its schema, and public is not seen.
            assert connection.exec_driver_sql("SHOW search_path").scalar() == "campaign_jilin_2021"
            assert connection.exec_driver_sql("SELECT to_regclass('raw_message')::text").scalar() == "raw_message"
            assert connection.exec_driver_sql("SELECT to_regclass('public.raw_message')").scalar() is None
    schemas = _schemas_of(postgres_url)
    assert {"raw_message", "alembic_version", "key_value"} <= schemas["campaign_jilin_2021"]
    assert {"raw_message", "alembic_version", "key_value"} <= schemas["campaign_liaoning_2022"]
    assert "raw_message" not in schemas.get("public", set())  # nothing leaked into the default's schema
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            for schema in ("campaign_jilin_2021", "campaign_liaoning_2022"):
                stamped = connection.exec_driver_sql(f'SELECT version_num FROM "{schema}".alembic_version').scalar()
                assert stamped == declared_head()
    finally:
        engine.dispose()
    # Reopened: the fast path reads the schema's own alembic_version and keeps the rows.
    with Store.open(tmp_path / "a", postgres_url, campaign_key="jilin-2021") as again:
        assert [r.sha256 for r in again.raw.all()] == [stored_a]


def test_postgres_default_campaign_stays_in_public_beside_keyed_ones(tmp_path: Path, postgres_url: str) -> None:
    with Store.open(tmp_path / "k", postgres_url, campaign_key="jilin-2021") as keyed:
        keyed.raw.put(MAIL_A, source="cli")
    with Store.open(tmp_path / "d", postgres_url) as default:
        assert default.campaign_key == ""
        assert default.raw.all() == []
        default.raw.put(MAIL_B, source="cli")
    schemas = _schemas_of(postgres_url)
    assert {"raw_message", "alembic_version"} <= schemas["public"]


def test_keys_that_share_a_schema_name_are_told_apart(tmp_path: Path, postgres_url: str) -> None:
    with Store.open(tmp_path / "a", postgres_url, campaign_key="jilin-2021"):
        pass
    with pytest.raises(CampaignMismatch, match="jilin-2021"):
        Store.open(tmp_path / "b", postgres_url, campaign_key="jilin_2021")


def test_sqlite_keyed_campaigns_in_one_data_dir_get_their_own_files(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with (
        Store.open(data, campaign_key="jilin-2021") as a,
        Store.open(data, campaign_key="liaoning-2022") as b,
        Store.open(data) as default,
    ):
        a.raw.put(MAIL_A, source="cli")
        b.raw.put(MAIL_B, source="cli")
        assert len(a.raw.all()) == len(b.raw.all()) == 1 and default.raw.all() == []
        assert a.raw.all()[0].sha256 != b.raw.all()[0].sha256
    assert (data / "nomdesk-jilin-2021.sqlite3").is_file()
    assert (data / "nomdesk-liaoning-2022.sqlite3").is_file()
    assert (data / "nomdesk.sqlite3").is_file()  # the default: today's file
    with sqlite3.connect(data / "nomdesk-jilin-2021.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM raw_message").fetchone()[0] == 1
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == declared_head()
    with sqlite3.connect(data / "nomdesk.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM raw_message").fetchone()[0] == 0


def test_a_renamed_file_is_not_taken_for_another_campaigns(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with Store.open(data, campaign_key="jilin-2021"):
        pass
    (data / "nomdesk-jilin-2021.sqlite3").rename(data / "nomdesk-liaoning-2022.sqlite3")
    with pytest.raises(CampaignMismatch, match="liaoning-2022"):
        Store.open(data, campaign_key="liaoning-2022")


def test_the_scheduler_jobs_table_lands_in_the_campaigns_schema(tmp_path: Path, postgres_url: str) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    with Store.open(tmp_path / "a", postgres_url, campaign_key="jilin-2021") as store:
        jobs = SQLAlchemyJobStore(engine=store.engine)
        jobs.start(None, "default")  # creates its table, as the scheduler does at start
        jobs.shutdown()
    schemas = _schemas_of(postgres_url)
    assert "apscheduler_jobs" in schemas["campaign_jilin_2021"]
    assert "apscheduler_jobs" not in schemas.get("public", set())


# A fresh process opens a campaign's store and says whether it had to load Alembic.
OPEN_KEYED_AND_TELL = """
import sys
from pathlib import Path
from storage.repo import Store
Store.open(Path(sys.argv[1]), sys.argv[2], campaign_key=sys.argv[3]).close()
print("alembic" in sys.modules)
"""


def test_the_fast_start_reads_the_campaigns_own_version_table(tmp_path: Path, postgres_url: str) -> None:
    """`public` at head says nothing of a new campaign's schema: that one is migrated, then only read."""

    def start(key: str) -> str:
        args = [sys.executable, "-c", OPEN_KEYED_AND_TELL, str(tmp_path / (key or "default")), postgres_url, key]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert start("") == "True" and start("") == "False"  # the default campaign, in public, at head
    assert start("jilin-2021") == "True"  # its own alembic_version is missing: Alembic migrates the schema
    assert start("jilin-2021") == "False"
    engine = make_engine(postgres_url, "jilin-2021")
    try:
        assert current_revision(engine) == declared_head()
        assert schema_differences(engine) == []  # the schema holds exactly what the tables declare
    finally:
        engine.dispose()
