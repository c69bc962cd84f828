"""Baseline: the population registry's schema as `create_all` made it before migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ndx_runtime.migration_ops import create_outbox_v1

revision = "0001"
down_revision = None


def _address(prefix: str) -> list[sa.Column[str]]:
    return [
        sa.Column(f"{prefix}_province", sa.String(length=2), nullable=True),
        sa.Column(f"{prefix}_ward", sa.String(length=5), nullable=True),
        sa.Column(f"{prefix}_street", sa.String(length=300), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("full_name_key", sa.String(length=200), nullable=False),
        sa.Column("other_names", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("gender", sa.SmallInteger(), nullable=False),
        *_address("place_of_birth"),
        *_address("hometown"),
        sa.Column("ethnicity", sa.String(length=50), nullable=False),
        sa.Column("religion", sa.String(length=50), nullable=False),
        sa.Column("nationality", sa.String(length=2), nullable=False),
        sa.Column("blood_type", sa.SmallInteger(), nullable=False),
        sa.Column("old_id_number", sa.String(length=9), nullable=False),
        sa.Column("id_card_issue_date", sa.Date(), nullable=True),
        sa.Column("id_card_issue_place", sa.String(length=200), nullable=True),
        sa.Column("id_card_expiry_date", sa.Date(), nullable=True),
        sa.Column("father_id", sa.String(length=12), nullable=False),
        sa.Column("mother_id", sa.String(length=12), nullable=False),
        sa.Column("spouse_id", sa.String(length=12), nullable=False),
        *_address("permanent_address"),
        *_address("temporary_address"),
        *_address("current_address"),
        sa.Column("household_id", sa.String(length=20), nullable=False),
        sa.Column("relationship_to_head", sa.SmallInteger(), nullable=False),
        sa.Column("marital_status", sa.SmallInteger(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("citizen_id"),
    )
    op.create_index("ix_citizens_household", "citizens", ["household_id", "citizen_id"])
    op.create_index("ix_citizens_name_dob", "citizens", ["full_name_key", "date_of_birth"])
    op.create_index(
        "ix_citizens_permanent_ward", "citizens", ["permanent_address_ward", "citizen_id"]
    )
    create_outbox_v1()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("citizens")
