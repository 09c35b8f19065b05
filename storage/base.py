"""What every repository of the store stands on: one engine, one process lock, one blob store.

Each aggregate (raw messages, submissions, outbox, ...) is its own `Repo`, but they all share
the `Database` the `Store` opened: one connection pool, and on SQLite one lock, so writers of
every aggregate queue on the same lock as they did when the store was a single object. Each
method is one short transaction, so a repository can be shared by threads (sessions are per
call). Rows come back detached.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.masking import mask_value
from storage.blobs import BlobStore
from storage.db import READ_ONLY_OPTION, is_sqlite
from storage.tables import AuditLog

UNIQUE_RETRIES = 5


@dataclass
class Database:
    """The handles all repositories of one store share."""

    engine: Engine
    blobs: BlobStore
    id_key: bytes
    lock: Any = field(init=False)
    read_engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.lock = threading.RLock() if is_sqlite(self.engine) else contextlib.nullcontext()
        self.read_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})


class Repo:
    """The base of each aggregate's repository: sessions, unique-race retries and audit rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.blobs = db.blobs

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        # SQLite takes its write lock at BEGIN; threads of this process queue on a Python
        # lock instead of SQLite's busy handler, whose sleeps (up to 100 ms) made the tail
        # latency of concurrent bot answers. Other processes still queue on the busy timeout.
        with self.db.lock, Session(self.db.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def _read_session(self) -> Iterator[Session]:
        """For the hot read paths (bot answers, the dashboard): no process lock, no write lock, so
        concurrent questions do not queue behind each other or behind the pipeline's writes."""
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            yield session  # closing ends the read transaction; loaded rows keep their values

    @staticmethod
    def _retry_unique(attempt: Any) -> Any:
        """Run `attempt()` (one transaction) again when a concurrent writer won a unique race."""
        for n in range(UNIQUE_RETRIES):
            try:
                return attempt()
            except IntegrityError:
                if n == UNIQUE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _insert(self) -> Any:
        return sqlite_insert if self.db.engine.dialect.name == "sqlite" else pg_insert

    @staticmethod
    def _audit_row(session: Session, actor: str, action: str, unit_name: str | None, detail: dict) -> None:
        """A decision recorded in the same transaction as the write it explains."""
        session.add(AuditLog(actor=actor, action=action, unit_name=unit_name, detail=mask_value(detail)))


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type: SQLite hands back naive UTC (sometimes as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
