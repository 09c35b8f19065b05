"""Alembic environment: always run programmatically with a live connection (storage.migrate).

Nothing here names a schema: a keyed campaign's connections have its schema as their only
search_path (storage.db), so its tables and its alembic_version are created and read there, and
the default campaign's in `public`, as before campaigns had keys."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import storage.tables

# A fixed key so concurrent starters of the service on PostgreSQL migrate one at a time.
_PG_MIGRATION_LOCK = 73_062_021


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as plain SQLAlchemy types, so revisions never import storage.tables."""
    if type_ == "type" and isinstance(obj, storage.tables.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator) and isinstance(obj.impl, sa.String):
        return "sa.String()"
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through storage.migrate, which passes a connection")

if connection.dialect.name == "postgresql":
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
