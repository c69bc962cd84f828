"""Protobuf <-> domain conversion: contract types stop here."""

from __future__ import annotations

from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from ndx.population.v1 import citizen_pb2, events_pb2
from ndx_runtime.change_events import change_message
from ndx_runtime.proto_values import (
    address_from_proto,
    address_to_proto,
    date_from_proto,
    date_to_proto,
    enum_from_proto,
)

from ..domain.model import TEXT_FIELDS, Citizen, CitizenChange
from ..domain.values import (
    BloodType,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)

_ADDRESSES = (
    "place_of_birth",
    "hometown",
    "permanent_address",
    "temporary_address",
    "current_address",
)


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
        gender=enum_from_proto(Gender, m.gender, "gender"),
        other_names=tuple(m.other_names),
        id_card=card,
        blood_type=enum_from_proto(BloodType, m.blood_type, "blood_type"),
        relationship_to_head=enum_from_proto(
            HouseholdRelationship, m.relationship_to_head, "relationship_to_head"
        ),
        marital_status=enum_from_proto(MaritalStatus, m.marital_status, "marital_status"),
        date_of_death=date_from_proto(m.date_of_death, "date_of_death"),
        version=m.version,
    )
    for name in TEXT_FIELDS:
        setattr(c, name, getattr(m, name))
    for name in _ADDRESSES:
        setattr(c, name, address_from_proto(getattr(m, name)))
    if not c.nationality:
        c.nationality = "VN"
    return c


def change_to_proto(change: CitizenChange) -> events_pb2.CitizenChanged:
    return change_message(events_pb2.CitizenChanged, change, citizen_to_proto, "citizen_id")


def timestamp_to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)
