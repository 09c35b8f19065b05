"""leases: the worker holding a claimed queue row and the end of its lease, on raw_message, outbox
and wecom_pending_file, indexed with the state so expired claims are found without a scan

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("raw_message", "outbox", "wecom_pending_file")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
            batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index(f"ix_{table}_state_lease", ["state", "lease_until"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_state_lease")
            batch_op.drop_column("lease_until")
            batch_op.drop_column("claimed_by")
