"""Change events cut to a grant: before and after keep only granted fields, changed_fields
only the granted ones that changed, and a change the grant cannot see is not delivered."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from ndx_gateway.feed.changes import visible_change
from ndx_gateway.policy import DEFAULT_POLICY, FieldSet, load_policy

from ndx.common.v1 import types_pb2
from ndx.land.v1 import events_pb2 as land_events
from ndx.land.v1 import parcel_pb2
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx_runtime.contracts import load_contracts

POLICY = load_policy(DEFAULT_POLICY, load_contracts())
CITIZEN = "ndx.population.v1.Citizen"


def read_of(agency: str, purpose: str) -> dict[str, FieldSet]:
    return POLICY.grants[(agency, purpose)].read


def citizen(**values: object) -> citizen_pb2.Citizen:
    base = citizen_pb2.Citizen(
        citizen_id="001190012345",
        full_name="Nguyễn Thị Lan",
        religion="Phật giáo",
        email="lan@example.vn",
        permanent_address=types_pb2.Address(province_code="01", ward_code="00004", street="1"),
        version=4,
    )
    base.MergeFrom(citizen_pb2.Citizen(**values))  # type: ignore[arg-type]
    return base


def update(
    before: citizen_pb2.Citizen, after: citizen_pb2.Citizen, *paths: str
) -> events_pb2.CitizenChanged:
    return events_pb2.CitizenChanged(
        citizen_id=before.citizen_id,
        op=types_pb2.CHANGE_OP_UPDATE,
        before=before,
        after=after,
        changed_fields=FieldMask(paths=list(paths)),
        version=after.version,
    )


def test_before_and_after_keep_only_the_granted_fields() -> None:
    event = update(citizen(), citizen(full_name="Nguyễn Thị Hoa", version=5), "full_name")
    change = visible_change(event, POLICY.resources, read_of("tax-authority", "tax-registration"))
    assert change is not None and change.event is event
    for side in (event.before, event.after):
        assert not side.religion and not side.email and not side.version
        assert side.citizen_id and side.permanent_address.street == "1"
    assert event.after.full_name == "Nguyễn Thị Hoa"
    assert list(event.changed_fields.paths) == ["full_name"]
    assert f"{CITIZEN}.religion" in change.removed and f"{CITIZEN}.email" in change.removed
    assert f"{CITIZEN}.full_name" in change.kept
    assert not {p for p in change.kept if p.endswith((".religion", ".email"))}


def test_a_change_of_fields_the_grant_cannot_see_is_not_delivered() -> None:
    before, after = citizen(), citizen(email="lan@new.vn", version=5)
    tax = read_of("tax-authority", "tax-registration")
    assert visible_change(update(before, after, "email"), POLICY.resources, tax) is None
    police = read_of("police", "population-management")
    seen = visible_change(update(before, after, "email"), POLICY.resources, police)
    assert seen is not None
    assert list(seen.event.changed_fields.paths) == ["email"]  # type: ignore[attr-defined]


def test_changed_fields_keep_only_granted_fields_that_changed() -> None:
    after = citizen(full_name="Nguyễn Thị Hoa", religion="", email="hoa@example.vn", version=5)
    event = update(citizen(), after, "email", "full_name", "religion", "no_such_field")
    visible_change(event, POLICY.resources, read_of("social-insurance", "insurance-enrolment"))
    assert list(event.changed_fields.paths) == ["full_name"]


def test_a_nested_grant_sees_a_change_only_below_it() -> None:
    grant = {CITIZEN: FieldSet()}
    grant[CITIZEN].add(["citizen_id"])
    grant[CITIZEN].add(["permanent_address", "ward_code"])
    moved_street = citizen(permanent_address=types_pb2.Address(street="2"), version=5)
    assert moved_street.permanent_address.ward_code == "00004"
    event = update(citizen(), moved_street, "permanent_address")
    assert visible_change(event, POLICY.resources, grant) is None
    moved_ward = citizen(version=5)
    moved_ward.permanent_address.ward_code = "00007"
    event = update(citizen(), moved_ward, "permanent_address")
    assert visible_change(event, POLICY.resources, grant) is not None
    assert event.after.permanent_address == types_pb2.Address(ward_code="00007")


def test_creates_and_deletes_are_delivered_cut() -> None:
    created = events_pb2.CitizenChanged(
        citizen_id="001190012345", op=types_pb2.CHANGE_OP_CREATE, after=citizen()
    )
    holder = read_of("land-office", "holder-records")
    assert visible_change(created, POLICY.resources, holder) is not None
    assert not created.HasField("before")
    assert created.after == citizen_pb2.Citizen(
        citizen_id="001190012345", full_name="Nguyễn Thị Lan"
    )
    deleted = land_events.ParcelChanged(
        parcel_id="00004-1-1",
        op=types_pb2.CHANGE_OP_DELETE,
        before=parcel_pb2.Parcel(parcel_id="00004-1-1"),
    )
    owner = read_of("land-office", "land-registration")
    assert visible_change(deleted, POLICY.resources, owner) is not None
    # A resource the purpose cannot read at all: nothing of the change is visible.
    assert visible_change(deleted, POLICY.resources, holder) is None
