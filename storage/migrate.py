"""Schema migrations with Alembic, configured in code (no alembic.ini): run at every startup.

Alembic itself (~11 MB and 0.1 s to import) is loaded only when the schema is not at head: a
start against a current database reads `alembic_version` with one query and compares it with the
newest revision named in versions/, so a short-lived process (`nomdesk check`, a link fetch) stays
small. Whenever that shortcut is unsure, Alembic decides, as it always did."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(connection: Any | None = None) -> Config:
    from alembic.config import Config  # lazy: see the module docstring

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    declared = declared_head()
    if declared is not None and _stamped_revision(engine) == declared:
        return  # at head: nothing to run, and Alembic need not be loaded
    from alembic import command  # lazy: see the module docstring

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def declared_head() -> str | None:
    """The one revision no other revision file names as its `down_revision`, read from the files'
    literal assignments without importing them (they import alembic). None when the history has
    no single head or a file does not say its revisions as literals: then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value:
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError):  # not a literal: let Alembic read it
                    return None
        if "revision" not in values:
            continue  # versions/__init__.py
        down = values.get("down_revision")
        if not isinstance(values["revision"], str) or not (down is None or isinstance(down, str | tuple | list)):
            return None
        revisions.add(values["revision"])
        parents.update([down] if isinstance(down, str) else down or ())
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped_revision(engine: Engine) -> str | None:
    """The database's one revision, read with plain SQL; None for a new database or several heads."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # lazy: see the module docstring

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext  # lazy: see the module docstring

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate would add to a new revision: empty when the migrations match the tables."""
    from alembic.autogenerate import compare_metadata  # lazy: see the module docstring
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def autogenerate_revision(engine: Engine, message: str) -> None:
    """For developers: write a new revision file from the difference (review it before committing)."""
    from alembic import command  # lazy: see the module docstring

    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
