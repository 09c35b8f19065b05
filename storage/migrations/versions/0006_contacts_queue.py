"""contacts the office manages (role, who added them, tombstones, the TOML's name of a seed),
rejected unknown-sender mails, and the office's notes on units and nominees

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("added_by", sa.String(), nullable=False, server_default="config"))
        batch_op.add_column(sa.Column("added_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("office_edited", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seed_name", sa.String(), nullable=True))
    # Every seed so far still has the name the TOML gave it (nobody could rename one before this).
    op.execute(sa.text("UPDATE contact SET seed_name = name WHERE from_config"))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rejected_by", sa.String(), nullable=True))
    op.create_table(
        "office_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("nominee", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_note")),
    )
    with op.batch_alter_table("office_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_note_unit_name"), ["unit_name"], unique=False)


def downgrade() -> None:
    op.drop_table("office_note")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("rejected_by")
        batch_op.drop_column("rejected_at")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        for column in ("seed_name", "removed_at", "office_edited", "added_at", "added_by", "role"):
            batch_op.drop_column(column)
