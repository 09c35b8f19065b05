"""The database engine: which database (SQLite under the data dir, or a URL), and how to talk to it.

A campaign with a key (`Campaign.key`, "jilin-2021") is partitioned from every other campaign of
the same database: on PostgreSQL it lives in its own schema, `campaign_jilin_2021`, which every
connection of its engine has as its only `search_path`, so every table, query, `alembic_version`
and `apscheduler_jobs` row of that desk is in it and no query can name another campaign's rows
(the unkeyed default stays in `public`, as before keys existed). On SQLite a keyed campaign has
its own file, DIR/nomdesk-jilin-2021.sqlite3, beside the default DIR/nomdesk.sqlite3.

SQLite runs in WAL mode with full fsync so a committed row survives a crash, and every
write transaction starts with BEGIN IMMEDIATE: two writers queue on the busy timeout
instead of failing with "database is locked" when a read lock would need upgrading.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, pool
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from config.campaign import CAMPAIGN_KEY_PATTERN

DATABASE_URL_ENV = "NOMDESK_DATABASE_URL"
SQLITE_FILENAME = "nomdesk.sqlite3"
SQLITE_BUSY_TIMEOUT_S = 30
READ_ONLY_OPTION = "nomdesk_read_only"  # an execution option: the transaction only reads
SCHEMA_PREFIX = "campaign_"
# Serialises concurrent creators of campaign schemas (two desks of a new campaign starting at once).
_PG_SCHEMA_LOCK = 73_062_016


def _checked_key(campaign_key: str) -> str:
    """The key as given, or ValueError: it is spliced into a file name and a schema name."""
    if campaign_key and not CAMPAIGN_KEY_PATTERN.fullmatch(campaign_key):
        raise ValueError(f"campaign key {campaign_key!r} is not a short lowercase slug [a-z0-9_-]{{1,40}}")
    return campaign_key


def sqlite_filename(campaign_key: str = "") -> str:
    """The campaign's database file in the data directory: nomdesk.sqlite3, nomdesk-KEY.sqlite3 with a key."""
    key = _checked_key(campaign_key)
    return f"nomdesk-{key}.sqlite3" if key else SQLITE_FILENAME


def schema_name(campaign_key: str = "") -> str:
    """The campaign's PostgreSQL schema: public by default, campaign_KEY (with - as _) for a key."""
    key = _checked_key(campaign_key)
    return SCHEMA_PREFIX + key.replace("-", "_") if key else "public"


def database_url(data_dir: Path, url: str | None = None, campaign_key: str = "") -> str:
    """The explicit URL, else NOMDESK_DATABASE_URL, else DIR/nomdesk.sqlite3 (DIR/nomdesk-KEY.sqlite3
    for a keyed campaign). An explicit SQLite file gets the key before its suffix the same way, so two
    keyed campaigns never share a file; a PostgreSQL URL is the same for every campaign (the schema
    tells them apart, see `make_engine`)."""
    chosen = url or os.environ.get(DATABASE_URL_ENV)
    if not chosen:
        return f"sqlite:///{(Path(data_dir) / sqlite_filename(campaign_key)).resolve()}"
    parsed = make_url(chosen)
    database = parsed.database or ""
    if not _checked_key(campaign_key) or parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return chosen
    path = Path(database)
    keyed = path.with_name(f"{path.stem}-{campaign_key}{path.suffix}")
    return parsed.set(database=str(keyed)).render_as_string(hide_password=False)


def _normalise(url: str) -> str:
    """postgresql:// means psycopg 3 here (the only driver we ship), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, campaign_key: str = "") -> Engine:
    """The engine of `url`; on PostgreSQL, for a keyed campaign, one whose every connection sees only
    the campaign's schema (created here when missing)."""
    url = _normalise(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    schema = schema_name(campaign_key)
    if schema == "public":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    _create_schema(url, schema)
    # Set by the server at the start of each session (libpq `options`), before SQLAlchemy reads
    # current_schema() as the dialect's default schema: an event after connect would come too late
    # for that, and a rolled-back transaction cannot undo it. Store.open checks it took effect (a
    # pooler that drops startup options would otherwise put the campaign in `public`).
    parsed = make_url(url)
    options = " ".join(filter(None, [str(parsed.query.get("options") or ""), f"-csearch_path={schema}"]))
    url = parsed.difference_update_query(["options"]).render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"options": options})


def _create_schema(url: str, schema: str) -> None:
    """CREATE SCHEMA IF NOT EXISTS, one creator at a time: two concurrent ones can both miss it and
    the second then fails on the catalog's unique index."""
    bootstrap = create_engine(url, poolclass=pool.NullPool)
    try:
        with bootstrap.begin() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})")
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        bootstrap.dispose()


def current_schema(engine: Engine) -> str | None:
    """The schema unqualified names resolve to on this engine's connections (None on SQLite)."""
    if is_sqlite(engine):
        return None
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT current_schema()").scalar()


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
