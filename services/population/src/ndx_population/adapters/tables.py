"""The population registry's own schema. Addresses are codes; names come from the gazetteer."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from ndx_runtime.outbox import outbox_table

metadata = MetaData()

ADDRESS_FIELDS = (
    "place_of_birth",
    "hometown",
    "permanent_address",
    "temporary_address",
    "current_address",
)


def _address_columns(prefix: str) -> list[Column[str]]:
    return [
        Column(f"{prefix}_province", String(2)),
        Column(f"{prefix}_ward", String(5)),
        Column(f"{prefix}_street", String(300)),
    ]


citizens = Table(
    "citizens",
    metadata,
    Column("citizen_id", String(12), primary_key=True),
    Column("full_name", String(200), nullable=False),
    # NFC, case-folded, single-spaced: the key of "find by name and date of birth".
    Column("full_name_key", String(200), nullable=False),
    Column("other_names", Text, nullable=False, default=""),  # newline-separated
    Column("date_of_birth", Date, nullable=False),
    Column("gender", SmallInteger, nullable=False),
    *_address_columns("place_of_birth"),
    *_address_columns("hometown"),
    Column("ethnicity", String(50), nullable=False, default=""),
    Column("religion", String(50), nullable=False, default=""),
    Column("nationality", String(2), nullable=False, default="VN"),
    Column("blood_type", SmallInteger, nullable=False, default=0),
    Column("old_id_number", String(9), nullable=False, default=""),
    Column("id_card_issue_date", Date),
    Column("id_card_issue_place", String(200)),
    Column("id_card_expiry_date", Date),
    Column("father_id", String(12), nullable=False, default=""),
    Column("mother_id", String(12), nullable=False, default=""),
    Column("spouse_id", String(12), nullable=False, default=""),
    *_address_columns("permanent_address"),
    *_address_columns("temporary_address"),
    *_address_columns("current_address"),
    Column("household_id", String(20), nullable=False, default=""),
    Column("relationship_to_head", SmallInteger, nullable=False, default=0),
    Column("marital_status", SmallInteger, nullable=False, default=0),
    Column("date_of_death", Date),
    Column("phone", String(20), nullable=False, default=""),
    Column("email", String(200), nullable=False, default=""),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

Index("ix_citizens_permanent_ward", citizens.c.permanent_address_ward, citizens.c.citizen_id)
Index("ix_citizens_household", citizens.c.household_id, citizens.c.citizen_id)
Index("ix_citizens_name_dob", citizens.c.full_name_key, citizens.c.date_of_birth)

outbox = outbox_table(metadata)
