"""Baseline: the data tracker's index as `create_all` made it before migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("chain_id", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "sequence"),
    )
    op.create_table(
        "audit_subjects",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("chain_id", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject_id", "chain_id", "sequence"),
    )
    op.create_index("audit_subjects_by_time", "audit_subjects", ["kind", "subject_id", "time_us"])


def downgrade() -> None:
    op.drop_table("audit_subjects")
    op.drop_table("audit_records")
