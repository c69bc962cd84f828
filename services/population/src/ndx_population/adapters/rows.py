"""Citizen <-> row of the `citizens` table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
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

DayForm = Callable[[date | None], Any]
MomentForm = Callable[[datetime | None], Any]


def _as_is(value: Any) -> Any:
    return value


def citizen_to_row(c: Citizen) -> dict[str, Any]:
    """Column name -> value, as SQLAlchemy Core takes them."""
    return dict(zip(COLUMNS, citizen_to_tuple(c), strict=True))


def citizen_to_tuple(
    c: Citizen, day: DayForm = _as_is, moment: MomentForm = _as_is
) -> tuple[Any, ...]:
    """Values in table column order (the bulk loader's fast path).

    `day` and `moment` turn dates and times into the form a raw driver stores (SQLite takes text).
    """
    card = c.id_card
    pob, home, perm, temp, cur = (
        c.place_of_birth,
        c.hometown,
        c.permanent_address,
        c.temporary_address,
        c.current_address,
    )
    # Spelled out rather than looped: this runs a million times in a seed.
    return (
        c.citizen_id,
        c.full_name,
        normalise_name(c.full_name),
        "\n".join(c.other_names),
        day(c.date_of_birth),
        int(c.gender),
        pob.province_code if pob else None,
        pob.ward_code if pob else None,
        pob.street if pob else None,
        home.province_code if home else None,
        home.ward_code if home else None,
        home.street if home else None,
        c.ethnicity,
        c.religion,
        c.nationality,
        int(c.blood_type),
        c.old_id_number,
        day(card.issue_date) if card else None,
        card.issue_place if card else None,
        day(card.expiry_date) if card else None,
        c.father_id,
        c.mother_id,
        c.spouse_id,
        perm.province_code if perm else None,
        perm.ward_code if perm else None,
        perm.street if perm else None,
        temp.province_code if temp else None,
        temp.ward_code if temp else None,
        temp.street if temp else None,
        cur.province_code if cur else None,
        cur.ward_code if cur else None,
        cur.street if cur else None,
        c.household_id,
        int(c.relationship_to_head),
        int(c.marital_status),
        day(c.date_of_death),
        c.phone,
        c.email,
        c.version,
        moment(c.updated_at),
    )


def _read_address(row: Mapping[Any, Any], prefix: str) -> Address | None:
    ward = row[f"{prefix}_ward"]
    province = row[f"{prefix}_province"]
    if ward is None and province is None:
        return None
    return Address(province or "", ward or "", row[f"{prefix}_street"] or "")


def row_to_citizen(row: Mapping[Any, Any]) -> Citizen:
    """The citizen a row holds (inverse of citizen_to_row); times come back in UTC."""
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
