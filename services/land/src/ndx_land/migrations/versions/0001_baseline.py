"""Baseline: the land registry's schema as `create_all` made it before migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ndx_runtime.migration_ops import child_key_v1, create_inbox_v1, create_outbox_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_inbox_v1()
    create_outbox_v1()
    op.create_table(
        "parcels",
        sa.Column("parcel_id", sa.String(length=20), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("ward_code", sa.String(length=5), nullable=False),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("map_sheet_number", sa.Integer(), nullable=False),
        sa.Column("parcel_number", sa.Integer(), nullable=False),
        sa.Column("area_tenths", sa.BigInteger(), nullable=False),
        sa.Column("form_of_use", sa.SmallInteger(), nullable=False),
        sa.Column("long_term", sa.Boolean(), nullable=False),
        sa.Column("term_end_date", sa.Date(), nullable=True),
        sa.Column("origin", sa.SmallInteger(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=11), nullable=True),
        sa.Column("certificate_register_entry", sa.String(length=40), nullable=True),
        sa.Column("certificate_issue_date", sa.Date(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("parcel_id"),
    )
    op.create_index("ix_parcels_ward", "parcels", ["ward_code", "parcel_id"])
    op.create_table(
        "holders",
        *child_key_v1("parcels", "parcel_id", 20),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.SmallInteger(), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
    )
    op.create_index("ix_holders_citizen", "holders", ["citizen_id"])
    op.create_table(
        "land_uses",
        *child_key_v1("parcels", "parcel_id", 20),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("area_tenths", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "mortgages",
        *child_key_v1("parcels", "parcel_id", 20),
        sa.Column("mortgage_id", sa.String(length=40), nullable=False),
        sa.Column("holder_enterprise_code", sa.String(length=10), nullable=False),
        sa.Column("registration_date", sa.Date(), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    for table in ("mortgages", "land_uses", "holders", "parcels", "outbox", "inbox"):
        op.drop_table(table)
