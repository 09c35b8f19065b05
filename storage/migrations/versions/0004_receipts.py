"""receipts: a finding's checklist item, the raw messages an evaluation merged, the evaluation a reply describes

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item", sa.String(), nullable=True))
    with op.batch_alter_table("dossier_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluation_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("evaluation_version")
    with op.batch_alter_table("dossier_snapshot", schema=None) as batch_op:
        batch_op.drop_column("raw_ids")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("item")
