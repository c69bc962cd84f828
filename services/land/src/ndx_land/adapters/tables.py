"""The land registry's own schema. Addresses are codes; names come from the gazetteer."""

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


def _parcel_key() -> Column[str]:
    return Column(
        "parcel_id",
        String(20),
        ForeignKey("parcels.parcel_id", ondelete="CASCADE"),
        primary_key=True,
    )


parcels = Table(
    "parcels",
    metadata,
    Column("parcel_id", String(20), primary_key=True),
    Column("province_code", String(2), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("street", String(300), nullable=False, default=""),
    Column("map_sheet_number", Integer, nullable=False),
    Column("parcel_number", Integer, nullable=False),
    # Tenths of a square metre: exact sums on every database.
    Column("area_tenths", BigInteger, nullable=False),
    Column("form_of_use", SmallInteger, nullable=False),
    Column("long_term", Boolean, nullable=False),
    Column("term_end_date", Date),
    Column("origin", SmallInteger, nullable=False),
    Column("certificate_serial", String(11)),
    Column("certificate_register_entry", String(40)),
    Column("certificate_issue_date", Date),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

land_uses = Table(
    "land_uses",
    metadata,
    _parcel_key(),
    Column("position", Integer, primary_key=True),
    Column("code", String(3), nullable=False),
    Column("area_tenths", BigInteger, nullable=False),
)

holders = Table(
    "holders",
    metadata,
    _parcel_key(),
    # Position keeps the registered order of holders stable across rewrites.
    Column("position", Integer, primary_key=True),
    Column("citizen_id", String(12), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", SmallInteger, nullable=False),
    Column("share_bp", Integer, nullable=False),
    Column("deceased", Boolean, nullable=False, default=False),
    Column("date_of_death", Date),
)

mortgages = Table(
    "mortgages",
    metadata,
    _parcel_key(),
    Column("position", Integer, primary_key=True),
    Column("mortgage_id", String(40), nullable=False),
    Column("holder_enterprise_code", String(10), nullable=False),
    Column("registration_date", Date, nullable=False),
    Column("release_date", Date),
)

Index("ix_parcels_ward", parcels.c.ward_code, parcels.c.parcel_id)
Index("ix_holders_citizen", holders.c.citizen_id)

outbox = outbox_table(metadata)
# The last population version applied per citizen: replays and redeliveries are skipped.
inbox = inbox_table(metadata)
