"""hardening: submissions held for an unauthenticated sender or voided by the office, raw messages
waiting to be retried after a transient error, and evaluations whose check did not complete

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_unit", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("held_reason", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("voided_by", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(), nullable=True))
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("transient_failures", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("dossier_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_error", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_snapshot", schema=None) as batch_op:
        batch_op.drop_column("check_error")
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.drop_column("transient_failures")
        batch_op.drop_column("retry_at")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        for column in ("void_reason", "voided_by", "voided_at", "held_reason", "held_unit"):
            batch_op.drop_column(column)
