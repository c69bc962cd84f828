"""Baseline: the business registry's schema as `create_all` made it before migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ndx_runtime.migration_ops import child_key_v1, create_inbox_v1, create_outbox_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("enterprise_code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("foreign_name", sa.String(length=400), nullable=False),
        sa.Column("short_name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("legal_status", sa.SmallInteger(), nullable=False),
        sa.Column("head_office_province", sa.String(length=2), nullable=False),
        sa.Column("head_office_ward", sa.String(length=5), nullable=False),
        sa.Column("head_office_street", sa.String(length=300), nullable=False),
        sa.Column("charter_capital_vnd", sa.BigInteger(), nullable=False),
        sa.Column("founding_date", sa.Date(), nullable=False),
        sa.Column("representative_deceased", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_code"),
    )
    op.create_index("ix_enterprises_status", "enterprises", ["legal_status", "enterprise_code"])
    op.create_index("ix_enterprises_ward", "enterprises", ["head_office_ward", "enterprise_code"])
    create_inbox_v1()
    create_outbox_v1()
    op.create_table(
        "branches",
        *child_key_v1("enterprises", "enterprise_code", 10),
        sa.Column("branch_code", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("ward_code", sa.String(length=5), nullable=False),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
    )
    op.create_table(
        "business_lines",
        *child_key_v1("enterprises", "enterprise_code", 10),
        sa.Column("vsic_code", sa.String(length=4), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "members",
        *child_key_v1("enterprises", "enterprise_code", 10),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("member_enterprise_code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("capital_contribution_vnd", sa.BigInteger(), nullable=False),
        sa.Column("ownership_basis_points", sa.Integer(), nullable=False),
    )
    op.create_table(
        "representatives",
        *child_key_v1("enterprises", "enterprise_code", 10),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
    )
    op.create_index("ix_representatives_citizen", "representatives", ["citizen_id"])


def downgrade() -> None:
    for table in (
        "representatives",
        "members",
        "business_lines",
        "branches",
        "outbox",
        "inbox",
        "enterprises",
    ):
        op.drop_table(table)
