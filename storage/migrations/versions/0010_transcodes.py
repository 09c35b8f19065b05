"""transcode_job: the compliant copies of units' videos, one per (unit, source file), leased while made

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcode_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("nominee", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("output_sha256", sa.String(), nullable=True),
        sa.Column("output_size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("replacement_raw_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_file_id"], ["file.id"], name=op.f("fk_transcode_job_source_file_id_file")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcode_job")),
        sa.UniqueConstraint("unit_name", "source_file_id", name="uq_transcode_job_unit_source"),
    )
    op.create_index("ix_transcode_job_state_lease", "transcode_job", ["state", "lease_until"], unique=False)
    op.create_index(op.f("ix_transcode_job_unit_name"), "transcode_job", ["unit_name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transcode_job_unit_name"), table_name="transcode_job")
    op.drop_index("ix_transcode_job_state_lease", table_name="transcode_job")
    op.drop_table("transcode_job")
