"""The business registry's own schema. Addresses are codes; names come from the gazetteer."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
)

from ndx_runtime.inbox import inbox_table
from ndx_runtime.outbox import outbox_table

metadata = MetaData()

enterprises = Table(
    "enterprises",
    metadata,
    Column("enterprise_code", String(10), primary_key=True),
    Column("name", String(400), nullable=False),
    Column("foreign_name", String(400), nullable=False, default=""),
    Column("short_name", String(200), nullable=False, default=""),
    Column("type", SmallInteger, nullable=False),
    Column("legal_status", SmallInteger, nullable=False),
    Column("head_office_province", String(2), nullable=False),
    Column("head_office_ward", String(5), nullable=False),
    Column("head_office_street", String(300), nullable=False, default=""),
    Column("charter_capital_vnd", BigInteger, nullable=False),
    Column("founding_date", Date, nullable=False),
    Column("representative_deceased", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

representatives = Table(
    "representatives",
    metadata,
    Column(
        "enterprise_code",
        String(10),
        ForeignKey("enterprises.enterprise_code", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Position keeps the registered order of representatives stable across rewrites.
    Column("position", Integer, primary_key=True),
    Column("citizen_id", String(12), nullable=False),
    Column("name", String(200), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("deceased", Boolean, nullable=False, default=False),
    Column("date_of_death", Date),
)


def _child(name: str, *columns: Column[object]) -> Table:
    """A child table keyed by enterprise code and position (registered order)."""
    return Table(
        name,
        metadata,
        Column(
            "enterprise_code",
            String(10),
            ForeignKey("enterprises.enterprise_code", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("position", Integer, primary_key=True),
        *columns,
    )


members = _child(
    "members",
    Column("citizen_id", String(12), nullable=False, default=""),
    Column("member_enterprise_code", String(10), nullable=False, default=""),
    Column("name", String(400), nullable=False),
    Column("capital_contribution_vnd", BigInteger, nullable=False),
    # Hundredths of a percent: exact, where a float percent would not be.
    Column("ownership_basis_points", Integer, nullable=False),
)

business_lines = _child(
    "business_lines",
    Column("vsic_code", String(4), nullable=False),
    Column("main", Boolean, nullable=False),
)

branches = _child(
    "branches",
    Column("branch_code", String(14), nullable=False),
    Column("name", String(400), nullable=False),
    Column("province_code", String(2), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("street", String(300), nullable=False, default=""),
    Column("status", SmallInteger, nullable=False),
)

Index("ix_enterprises_ward", enterprises.c.head_office_ward, enterprises.c.enterprise_code)
Index("ix_enterprises_status", enterprises.c.legal_status, enterprises.c.enterprise_code)
Index("ix_representatives_citizen", representatives.c.citizen_id)

outbox = outbox_table(metadata)
# The last population version applied per citizen: replays and redeliveries are skipped.
inbox = inbox_table(metadata)
