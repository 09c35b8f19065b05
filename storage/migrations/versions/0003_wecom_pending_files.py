"""files sent to the WeCom app, kept until the desk has them

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wecom_pending_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msg_key", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("media_id", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_pending_file")),
        sa.UniqueConstraint("msg_key", name=op.f("uq_wecom_pending_file_msg_key")),
    )
    with op.batch_alter_table("wecom_pending_file", schema=None) as batch_op:
        batch_op.create_index("ix_wecom_pending_file_state_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wecom_pending_file", schema=None) as batch_op:
        batch_op.drop_index("ix_wecom_pending_file_state_due")
    op.drop_table("wecom_pending_file")
