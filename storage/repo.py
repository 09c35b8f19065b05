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
from storage.blob_choice import configured_blob_store
from storage.blobs import BlobStore, LocalBlobStore
from storage.contacts import ContactRepo
from storage.db import current_schema, database_url, make_engine, schema_name
from storage.directory import DirectoryRepo
from storage.evaluations import EvaluationRepo
from storage.leases import LeaseRepo
from storage.locks import Locks
from storage.migrate import upgrade_to_head
from storage.outbox import OutboxRepo
from storage.overview import OverviewRepo
from storage.raw import RawRepo
from storage.reseal import reseal_all
from storage.state import StateRepo
from storage.store_identity import check_blob_store
from storage.submissions import SubmissionRepo
from storage.transcodes import TranscodeRepo
from storage.unit_links import UnitLinkRepo
from storage.wecom_files import WeComFileRepo

CAMPAIGN_KEY_KV = "campaign-key"  # the key of the campaign whose database this is


class CampaignMismatch(RuntimeError):
    """The database (schema or file) belongs to another campaign than the one opening it."""


def _check_schema(engine: Engine, campaign_key: str) -> None:
    """A keyed campaign on PostgreSQL must resolve every name in its own schema; a connection pooler
    that drops the startup `options` would silently put it in `public`, among the default's rows."""
    if not campaign_key:
        return  # the default campaign: wherever the database's own search_path puts it, as always
    wanted = schema_name(campaign_key)
    found = current_schema(engine)
    if found is not None and found != wanted:
        raise CampaignMismatch(
            f"数据库连接的 search_path 指向 {found!r}，不是本活动的 schema {wanted!r}"
            "（连接池是否丢弃了连接参数 options？）"
        )


class Store:
    def __init__(
        self,
        data_dir: Path,
        engine: Engine,
        id_key: bytes,
        sealer: pii.Sealer,
        *,
        campaign_key: str = "",
        blobs: BlobStore | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.campaign_key = campaign_key  # "" for the default campaign (storage.db: where each lives)
        self.engine = engine
        pii.bind_sealer(engine, sealer)  # the sealed columns of this engine use this key
        self.blobs = blobs if blobs is not None else LocalBlobStore(self.data_dir / "store")
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
        self.leases = LeaseRepo(db)  # claims' leases in all three queues (storage/leases.py)
        self.transcodes = TranscodeRepo(db)  # compliant copies of units' videos (storage/transcodes.py)
        self.unit_links = UnitLinkRepo(db, self.data_dir, campaign_key)  # unit page links (storage/unit_links.py)
        # Cross-process locks, scoped by the campaign (storage/locks.py).
        self.locks = Locks(engine, self.data_dir, lambda: getattr(self, "campaign_key", "") or "")

    @classmethod
    def open(
        cls,
        data_dir: Path,
        url: str | None = None,
        *,
        id_key: bytes | None = None,
        secret_key: str | SecretStr | None = None,
        campaign_key: str | None = None,
        blobs: BlobStore | None = None,
    ) -> Store:
        """Create the data dir layout, connect (DIR/nomdesk.sqlite3 unless a URL is given) and migrate.

        `secret_key` (settings.secret_key, NOMDESK_SECRET_KEY) encrypts ID and phone numbers at
        rest; None: DIR/secret.key, made at the first start. A key other than the one the data
        was sealed with stops here (`pii.SealError`), not at the first dossier read. The first
        open after sealing came in seals the rows written before it (`storage.reseal`).

        `campaign_key` (`Campaign.key`): the campaign's own schema or SQLite file (`storage.db`);
        None or "": the default campaign, where it always lived.

        `blobs`: the blob store; None: the one NOMDESK_S3_* names, else DATA_DIR/store
        (`storage.s3_blobs.configured_blob_store`). The database remembers its store and refuses
        another (`storage.store_identity.BlobStoreMismatch`)."""
        campaign_key = campaign_key or ""
        data_dir = Path(data_dir)
        for sub in ("store", "inbox/new", "inbox/cur", "inbox/tmp", "outbox"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        if isinstance(secret_key, SecretStr):
            secret_key = secret_key.get_secret_value()
        sealer = pii.Sealer(pii.load_or_create_secret(data_dir, secret_key))
        blobs = blobs if blobs is not None else configured_blob_store(data_dir)
        engine = make_engine(database_url(data_dir, url, campaign_key), campaign_key)
        try:
            _check_schema(engine, campaign_key)
            upgrade_to_head(engine)
        except BaseException:
            engine.dispose()
            raise
        store = cls(
            data_dir,
            engine,
            id_key or keys.load_or_create_key(data_dir),
            sealer,
            campaign_key=campaign_key,
            blobs=blobs,
        )
        try:
            store._check_campaign_key()
            store._check_secret_key(sealer)
            check_blob_store(store.state, store.blobs)  # desks sharing a database share its blob store
            reseal_all(engine, sealer, store.state)  # rows from before sealing: once, then a marker
        except BaseException:
            store.close()
            raise
        store.blobs.sweep_tmp()
        return store

    def _check_campaign_key(self) -> None:
        """The database remembers the key that made it: "a-b" and "a_b" share a schema name, and a
        renamed SQLite file would otherwise hand one campaign's rows to another."""
        made_by = self.state.kv_get(CAMPAIGN_KEY_KV)
        if made_by is None and not self.campaign_key:
            return  # the default campaign's database: as it always was, nothing written
        if made_by is None:
            self.state.kv_add(CAMPAIGN_KEY_KV, self.campaign_key)
            made_by = self.state.kv_get(CAMPAIGN_KEY_KV) or ""
        if made_by != self.campaign_key:
            raise CampaignMismatch(
                f"数据库属于活动 key = {made_by!r}，不是本活动配置的 key = {self.campaign_key!r}："
                "请检查活动配置文件的 key"
            )

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
