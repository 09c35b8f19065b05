"""Seal the rows written before encryption at rest existed, once, when the store opens.

Sealing lives in the column types (`storage.pii`), so it reaches a value only when it is written.
A deployment older than sealing keeps its old submissions, dossiers, findings and contact phones
in clear text until each is written again, which for most never happens. `reseal_all` rewrites
every sealed column of every row in batches; a key-value marker says it is done, so later opens
do no work. It runs in `Store.open` (a migration cannot reach the secret key).

Safe when two processes open the store at once: each batch is one write transaction (SQLite's
BEGIN IMMEDIATE, `FOR UPDATE` elsewhere), so a batch never writes back a value another writer
changed meanwhile, and resealing a value already sealed with this key returns it unchanged (no
write at all). The marker is set only after the last batch, so an interrupted run starts over
and the second pass finds nothing left to do.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, Table, select, type_coerce, update
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from storage.db import is_sqlite
from storage.pii import SealedJSON, SealedText, Sealer
from storage.state import StateRepo

log = logging.getLogger(__name__)

RESEALED_MARKER = "pii:resealed:v1"  # a key-value: every row written before sealing is sealed
BATCH_ROWS = 200  # rows per transaction: a dossier snapshot is tens of KB, writers wait one batch at most


@dataclass
class ResealCount:
    rows: int = 0  # rows read
    rewritten: int = 0  # rows that held a plain personal value and were written back sealed
    seconds: float = 0.0


def reseal_all(engine: Engine, sealer: Sealer, state: StateRepo, batch_rows: int = BATCH_ROWS) -> ResealCount | None:
    """Seal every plain personal value of the sealed columns; None when the marker says it was done."""
    if state.kv_get(RESEALED_MARKER) is not None:
        return None
    started = time.monotonic()
    total = ResealCount()
    for table, columns in sealed_columns():
        count = _reseal_table(engine, sealer, table, columns, batch_rows)
        total.rows += count.rows
        total.rewritten += count.rewritten
    if total.rewritten and is_sqlite(engine):
        # WAL mode: the old pages stay in the main file until a checkpoint copies the new ones over.
        # Outside any transaction (the driver connection autocommits): best effort, a reader
        # elsewhere may hold it up, and then the next automatic checkpoint does it.
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()  # type: ignore[union-attr]
    total.seconds = time.monotonic() - started
    state.kv_set(RESEALED_MARKER, f"rows={total.rows} rewritten={total.rewritten}")
    if total.rewritten:
        log.info(
            "sealed personal data written before encryption at rest: %d of %d rows rewritten in %.1f s",
            total.rewritten,
            total.rows,
            total.seconds,
        )
    return total


def sealed_columns() -> list[tuple[Table, list[str]]]:
    """Every table with a sealed column, found by column type: a new sealed column is covered too."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, SealedJSON | SealedText)]
        if names:
            found.append((table, names))
    return found


def _reseal_table(engine: Engine, sealer: Sealer, table: Table, columns: list[str], batch_rows: int) -> ResealCount:
    count = ResealCount()
    key = table.c.id
    # The raw stored value: coerced to the plain type, so the sealed type neither opens nor seals it.
    raw = {name: _plain_type(table, name) for name in columns}
    last = 0
    sqlite = is_sqlite(engine)
    while True:
        with engine.begin() as conn:  # one write transaction per batch
            if sqlite:  # the space a clear-text value leaves is zeroed, not left in the file
                secure_delete = int(conn.exec_driver_sql("PRAGMA secure_delete").scalar() or 0)
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            query = (
                select(key, *(type_coerce(table.c[n], t).label(n) for n, t in raw.items()))
                .where(key > last)
                .order_by(key)
                .limit(batch_rows)
            )
            if not sqlite:  # SQLite's BEGIN IMMEDIATE already holds the lock
                query = query.with_for_update()
            rows = conn.execute(query).mappings().all()
            for row in rows:
                changed = _resealed(sealer, row, raw)
                if changed:
                    values = {n: type_coerce(v, raw[n]) for n, v in changed.items()}
                    conn.execute(update(table).where(key == row["id"]).values(values))
                    count.rewritten += 1
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA secure_delete = {secure_delete}")
        if not rows:
            return count
        count.rows += len(rows)
        last = rows[-1]["id"]
        if count.rewritten:
            log.info("sealing %s: %d rows read, %d rewritten so far", table.name, count.rows, count.rewritten)


def _plain_type(table: Table, name: str) -> Any:
    return JSON() if isinstance(table.c[name].type, SealedJSON) else String()


def _resealed(sealer: Sealer, row: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The columns of `row` whose sealed value differs from the stored one."""
    changed = {}
    for name, plain_type in raw.items():
        value = row[name]
        if value is None:
            continue
        new = sealer.reseal(value) if isinstance(plain_type, JSON) else sealer.reseal_text(value)
        if new != value:
            changed[name] = new
    return changed
