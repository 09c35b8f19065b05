"""nominee: the withdrawn flag goes (withdrawals live in the dossier; nothing set the flag)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nominee", schema=None) as batch_op:
        batch_op.drop_column("withdrawn")


def downgrade() -> None:
    with op.batch_alter_table("nominee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false()))
