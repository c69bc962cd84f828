"""Protobuf <-> domain conversion: contract types stop here."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx_refdata import gazetteer
from ndx_runtime.errors import InvalidInput

from ..domain.model import Citizen, CitizenChange, Op
from ..domain.values import (
    Address,
    BloodType,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)

E = TypeVar("E", bound=enum.IntEnum)

_OPS = {
    Op.CREATE: types_pb2.CHANGE_OP_CREATE,
    Op.UPDATE: types_pb2.CHANGE_OP_UPDATE,
    Op.DELETE: types_pb2.CHANGE_OP_DELETE,
}
_ADDRESSES = (
    "place_of_birth",
    "hometown",
    "permanent_address",
    "temporary_address",
    "current_address",
)
_STRINGS = (
    "citizen_id",
    "full_name",
    "ethnicity",
    "religion",
    "nationality",
    "old_id_number",
    "father_id",
    "mother_id",
    "spouse_id",
    "household_id",
    "phone",
    "email",
)


def date_from_proto(d: types_pb2.Date, field: str) -> date | None:
    """None for an unset date; InvalidInput naming `field` for an impossible one."""
    if not (d.year or d.month or d.day):
        return None
    try:
        return date(d.year, d.month, d.day)
    except ValueError as e:
        raise InvalidInput.one(
            field, f"{d.year:04d}-{d.month:02d}-{d.day:02d} is not a date: {e}"
        ) from None


def _enum(kind: type[E], value: int, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(int(v)) for v in kind)
        raise InvalidInput.one(
            field, f"{value} is not a known value (allowed: {allowed})"
        ) from None


def date_to_proto(d: date | None, out: types_pb2.Date) -> None:
    if d is not None:
        out.year, out.month, out.day = d.year, d.month, d.day


def address_from_proto(a: types_pb2.Address) -> Address | None:
    if not (a.province_code or a.ward_code or a.street):
        return None
    return Address(a.province_code, a.ward_code, a.street)


def address_to_proto(a: Address | None, out: types_pb2.Address) -> None:
    if a is None:
        return
    g = gazetteer()
    out.province_code, out.ward_code, out.street = a.province_code, a.ward_code, a.street
    if (p := g.province(a.province_code)) is not None:
        out.province_name = p.name
    if (w := g.ward(a.ward_code)) is not None:
        out.ward_name = w.name


def citizen_to_proto(c: Citizen) -> citizen_pb2.Citizen:
    m = citizen_pb2.Citizen(
        citizen_id=c.citizen_id,
        full_name=c.full_name,
        other_names=c.other_names,
        gender=int(c.gender),  # type: ignore[arg-type]
        ethnicity=c.ethnicity,
        religion=c.religion,
        nationality=c.nationality,
        blood_type=int(c.blood_type),  # type: ignore[arg-type]
        old_id_number=c.old_id_number,
        father_id=c.father_id,
        mother_id=c.mother_id,
        spouse_id=c.spouse_id,
        household_id=c.household_id,
        relationship_to_head=int(c.relationship_to_head),  # type: ignore[arg-type]
        marital_status=int(c.marital_status),  # type: ignore[arg-type]
        phone=c.phone,
        email=c.email,
        version=c.version,
    )
    date_to_proto(c.date_of_birth, m.date_of_birth)
    date_to_proto(c.date_of_death, m.date_of_death)
    for name in _ADDRESSES:
        address_to_proto(getattr(c, name), getattr(m, name))
    if c.id_card is not None:
        date_to_proto(c.id_card.issue_date, m.id_card.issue_date)
        m.id_card.issue_place = c.id_card.issue_place
        date_to_proto(c.id_card.expiry_date, m.id_card.expiry_date)
    if c.updated_at is not None:
        m.update_time.FromDatetime(c.updated_at.astimezone(UTC))
    return m


def citizen_from_proto(m: citizen_pb2.Citizen) -> Citizen:
    """Builds the domain citizen without validating it; malformed values raise InvalidInput."""
    dob = date_from_proto(m.date_of_birth, "date_of_birth") or date.min
    card = None
    if m.HasField("id_card"):
        card = IdentityCard(
            date_from_proto(m.id_card.issue_date, "id_card.issue_date"),
            m.id_card.issue_place,
            date_from_proto(m.id_card.expiry_date, "id_card.expiry_date"),
        )
    c = Citizen(
        citizen_id=m.citizen_id,
        full_name=m.full_name,
        date_of_birth=dob,
        gender=_enum(Gender, m.gender, "gender"),
        other_names=tuple(m.other_names),
        id_card=card,
        blood_type=_enum(BloodType, m.blood_type, "blood_type"),
        relationship_to_head=_enum(
            HouseholdRelationship, m.relationship_to_head, "relationship_to_head"
        ),
        marital_status=_enum(MaritalStatus, m.marital_status, "marital_status"),
        date_of_death=date_from_proto(m.date_of_death, "date_of_death"),
        version=m.version,
    )
    for name in _STRINGS:
        setattr(c, name, getattr(m, name))
    for name in _ADDRESSES:
        setattr(c, name, address_from_proto(getattr(m, name)))
    if not c.nationality:
        c.nationality = "VN"
    return c


def change_to_proto(change: CitizenChange) -> events_pb2.CitizenChanged:
    event = events_pb2.CitizenChanged(
        citizen_id=change.citizen_id,
        op=_OPS[change.op],
        version=change.version,
        changed_fields=FieldMask(paths=list(change.changed_fields)),
    )
    if change.before is not None:
        event.before.CopyFrom(citizen_to_proto(change.before))
    if change.after is not None:
        event.after.CopyFrom(citizen_to_proto(change.after))
        if change.after.updated_at is not None:
            event.change_time.FromDatetime(change.after.updated_at.astimezone(UTC))
    return event


def timestamp_to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)
