"""Citizen <-> row of the `citizens` table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..domain.model import Citizen, normalise_name
from ..domain.values import (
    Address,
    BloodType,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)
from .tables import ADDRESS_FIELDS, citizens

COLUMNS: tuple[str, ...] = tuple(c.name for c in citizens.columns)


def citizen_to_row(c: Citizen) -> dict[str, Any]:
    return dict(zip(COLUMNS, citizen_to_tuple(c), strict=True))


def citizen_to_tuple(c: Citizen) -> tuple[Any, ...]:
    """Values in table column order (the bulk loader's fast path)."""
    card = c.id_card
    return (
        c.citizen_id,
        c.full_name,
        normalise_name(c.full_name),
        "\n".join(c.other_names),
        c.date_of_birth,
        int(c.gender),
        *_address(c.place_of_birth),
        *_address(c.hometown),
        c.ethnicity,
        c.religion,
        c.nationality,
        int(c.blood_type),
        c.old_id_number,
        card.issue_date if card else None,
        card.issue_place if card else None,
        card.expiry_date if card else None,
        c.father_id,
        c.mother_id,
        c.spouse_id,
        *_address(c.permanent_address),
        *_address(c.temporary_address),
        *_address(c.current_address),
        c.household_id,
        int(c.relationship_to_head),
        int(c.marital_status),
        c.date_of_death,
        c.phone,
        c.email,
        c.version,
        c.updated_at,
    )


def _address(a: Address | None) -> tuple[str | None, str | None, str | None]:
    if a is None:
        return (None, None, None)
    return (a.province_code, a.ward_code, a.street)


def _read_address(row: Mapping[Any, Any], prefix: str) -> Address | None:
    ward = row[f"{prefix}_ward"]
    province = row[f"{prefix}_province"]
    if ward is None and province is None:
        return None
    return Address(province or "", ward or "", row[f"{prefix}_street"] or "")


def row_to_citizen(row: Mapping[Any, Any]) -> Citizen:
    card = None
    if row["id_card_issue_date"] is not None or row["id_card_issue_place"] is not None:
        card = IdentityCard(
            row["id_card_issue_date"], row["id_card_issue_place"] or "", row["id_card_expiry_date"]
        )
    other = row["other_names"]
    c = Citizen(
        citizen_id=row["citizen_id"],
        full_name=row["full_name"],
        date_of_birth=row["date_of_birth"],
        gender=Gender(row["gender"]),
        other_names=tuple(other.split("\n")) if other else (),
        ethnicity=row["ethnicity"],
        religion=row["religion"],
        nationality=row["nationality"],
        blood_type=BloodType(row["blood_type"]),
        old_id_number=row["old_id_number"],
        id_card=card,
        father_id=row["father_id"],
        mother_id=row["mother_id"],
        spouse_id=row["spouse_id"],
        household_id=row["household_id"],
        relationship_to_head=HouseholdRelationship(row["relationship_to_head"]),
        marital_status=MaritalStatus(row["marital_status"]),
        date_of_death=row["date_of_death"],
        phone=row["phone"],
        email=row["email"],
        version=row["version"],
        updated_at=_utc(row["updated_at"]),
    )
    for name in ADDRESS_FIELDS:
        setattr(c, name, _read_address(row, name))
    return c


def _utc(value: datetime | None) -> datetime | None:
    # SQLite keeps no offset; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
