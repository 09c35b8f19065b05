"""The store: every read and write of the service's state goes through one `Store`, by aggregate.

`Store.open` connects, migrates and hands out one repository per aggregate, all sharing one
engine, one lock and one blob store (`storage.base`): `store.raw`, `store.submissions`,
`store.evaluations`, `store.outbox`, `store.contacts`, `store.directory`, `store.state`, `store.audit`,
`store.wecom_files`, `store.overview`, and `store.blobs`. Call sites say which aggregate
they write (`store.outbox.enqueue(...)`). Writes that must happen once (a raw message per
content, a reply per dedupe key, a reminder per slot) rest on unique constraints, so they
hold across processes too.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from storage import keys
from storage.audit import AuditRepo
from storage.base import Database
from storage.blobs import BlobStore
from storage.contacts import ContactRepo
from storage.db import database_url, make_engine
from storage.directory import DirectoryRepo
from storage.evaluations import EvaluationRepo
from storage.migrate import upgrade_to_head
from storage.outbox import OutboxRepo
from storage.overview import OverviewRepo
from storage.raw import RawRepo
from storage.state import StateRepo
from storage.submissions import SubmissionRepo
from storage.wecom_files import WeComFileRepo


class Store:
    def __init__(self, data_dir: Path, engine: Engine, id_key: bytes) -> None:
        self.data_dir = Path(data_dir)
        self.engine = engine
        self.blobs = BlobStore(self.data_dir / "store")
        db = Database(engine, self.blobs, id_key)
        self.audit = AuditRepo(db)
        self.raw = RawRepo(db, self.audit)
        self.submissions = SubmissionRepo(db)
        self.evaluations = EvaluationRepo(db)
        self.outbox = OutboxRepo(db)
        self.overview = OverviewRepo(db)
        self.contacts = ContactRepo(db)
        self.directory = DirectoryRepo(db, self.overview, self.contacts)
        self.state = StateRepo(db)
        self.wecom_files = WeComFileRepo(db)

    @classmethod
    def open(cls, data_dir: Path, url: str | None = None, *, id_key: bytes | None = None) -> Store:
        """Create the data dir layout, connect (DIR/nomdesk.sqlite3 unless a URL is given) and migrate."""
        data_dir = Path(data_dir)
        for sub in ("store", "inbox/new", "inbox/cur", "inbox/tmp", "outbox"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        engine = make_engine(database_url(data_dir, url))
        upgrade_to_head(engine)
        store = cls(data_dir, engine, id_key or keys.load_or_create_key(data_dir))
        store.blobs.sweep_tmp()
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
