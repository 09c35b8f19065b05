"""Which blob store a process uses: the object store NOMDESK_S3_* names, else DATA_DIR/store.

Every command and `serve` opens its store through here (Store.open, nomdesk.wiring), so a desk's
subprocesses and tools pick the same store from the same environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.blobs import BlobStore, LocalBlobStore

if TYPE_CHECKING:
    from config.settings import Settings


def configured_blob_store(data_dir: Path, settings: Settings | None = None) -> BlobStore:
    """The blob store the settings (default: the environment) name: NOMDESK_S3_* when set, else
    DATA_DIR/store. (boto3 is imported only then: every command opens a store, most a local one.)"""
    from config.settings import Settings

    settings = settings if settings is not None else Settings()
    if settings.s3_bucket or settings.s3_endpoint:
        from storage.s3_blobs import s3_store

        return s3_store(settings, data_dir)
    return LocalBlobStore(Path(data_dir) / "store")
