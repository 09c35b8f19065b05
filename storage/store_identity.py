"""Which blob store a database belongs to, so a desk on another store refuses to start.

Two desks on two machines sharing one PostgreSQL, each with its own DATA_DIR/store, quarantined
most mails: a row written by one pointed at bytes on the other's disk. Each blob store has an id
(a file `store-id` in a local store, the object `<prefix>nomdesk-store-id` in S3); the first
`Store.open` records it in the database, and every later open must bring the same store.
"""

from __future__ import annotations

import socket

from storage.blobs import BlobStore, BlobStoreRefused
from storage.state import StateRepo

BLOB_STORE_KV = "blob-store-id"
BLOB_STORE_WHERE_KV = "blob-store-where"  # where that store was, for the message


class BlobStoreMismatch(BlobStoreRefused):
    """The database names another blob store than the one this process was configured with."""


def where(blobs: BlobStore) -> str:
    return f"{blobs.description}（{socket.gethostname()}）"


def check_blob_store(state: StateRepo, blobs: BlobStore) -> None:
    """Record the store at the database's first open; refuse any other store after that."""
    mine = blobs.store_id()
    recorded = state.kv_get(BLOB_STORE_KV)
    if recorded is None:
        if state.kv_add(BLOB_STORE_KV, mine):
            state.kv_set(BLOB_STORE_WHERE_KV, where(blobs))
        recorded = state.kv_get(BLOB_STORE_KV) or mine
    if recorded != mine:
        raise BlobStoreMismatch(mismatch_message(state.kv_get(BLOB_STORE_WHERE_KV) or recorded, blobs))


def record_blob_store(state: StateRepo, blobs: BlobStore) -> None:
    """Make `blobs` the database's store (after `nomdesk store migrate` copied every blob there)."""
    state.kv_set(BLOB_STORE_KV, blobs.store_id())
    state.kv_set(BLOB_STORE_WHERE_KV, where(blobs))


def mismatch_message(recorded_where: str, blobs: BlobStore) -> str:
    return (
        "无法启动：这个数据库的邮件和文件保存在另一个文件库中"
        f"（数据库记录的是：{recorded_where}；本进程使用的是：{where(blobs)}）。"
        "多台受理台共用一个数据库时，每一台都必须设置相同的对象存储："
        "NOMDESK_S3_ENDPOINT、NOMDESK_S3_BUCKET、NOMDESK_S3_ACCESS_KEY_ID、NOMDESK_S3_SECRET_ACCESS_KEY、"
        "NOMDESK_S3_REGION（以及 NOMDESK_S3_PREFIX）；不用对象存储时，所有进程必须使用同一个数据目录"
        "（NOMDESK_DATA_DIR）。已有的本地文件库可用 nomdesk store migrate 迁移到对象存储。\n"
        "Refusing to start: this database keeps its mails and files in another blob store "
        f"(recorded: {recorded_where}; this process: {where(blobs)}). Every desk sharing one database must set "
        "the same NOMDESK_S3_ENDPOINT, NOMDESK_S3_BUCKET, NOMDESK_S3_ACCESS_KEY_ID, NOMDESK_S3_SECRET_ACCESS_KEY, "
        "NOMDESK_S3_REGION (and NOMDESK_S3_PREFIX), or without an object store all must use one data directory "
        "(NOMDESK_DATA_DIR). Move a local store to the object store with `nomdesk store migrate`."
    )
