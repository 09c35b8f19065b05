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

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from storage import keys, pii
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
from storage.reseal import reseal_all
from storage.state import StateRepo
from storage.submissions import SubmissionRepo
from storage.wecom_files import WeComFileRepo


class Store:
    def __init__(self, data_dir: Path, engine: Engine, id_key: bytes, sealer: pii.Sealer) -> None:
        self.data_dir = Path(data_dir)
        self.engine = engine
        pii.bind_sealer(engine, sealer)  # the sealed columns of this engine use this key
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
    def open(
        cls,
        data_dir: Path,
        url: str | None = None,
        *,
        id_key: bytes | None = None,
        secret_key: str | SecretStr | None = None,
    ) -> Store:
        """Create the data dir layout, connect (DIR/nomdesk.sqlite3 unless a URL is given) and migrate.

        `secret_key` (settings.secret_key, NOMDESK_SECRET_KEY) encrypts ID and phone numbers at
        rest; None: DIR/secret.key, made at the first start. A key other than the one the data
        was sealed with stops here (`pii.SealError`), not at the first dossier read. The first
        open after sealing came in seals the rows written before it (`storage.reseal`)."""
        data_dir = Path(data_dir)
        for sub in ("store", "inbox/new", "inbox/cur", "inbox/tmp", "outbox"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        if isinstance(secret_key, SecretStr):
            secret_key = secret_key.get_secret_value()
        sealer = pii.Sealer(pii.load_or_create_secret(data_dir, secret_key))
        engine = make_engine(database_url(data_dir, url))
        upgrade_to_head(engine)
        store = cls(data_dir, engine, id_key or keys.load_or_create_key(data_dir), sealer)
        try:
            store._check_secret_key(sealer)
            reseal_all(engine, sealer, store.state)  # rows from before sealing: once, then a marker
        except BaseException:
            store.close()
            raise
        store.blobs.sweep_tmp()
        return store

    def _check_secret_key(self, sealer: pii.Sealer) -> None:
        """The first open leaves a sealed probe; every later open must be able to read it."""
        probe = self.state.kv_get(pii.KEY_CHECK)
        if probe is None:
            self.state.kv_add(pii.KEY_CHECK, sealer.probe())
            probe = self.state.kv_get(pii.KEY_CHECK) or ""
        sealer.check_probe(probe)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
