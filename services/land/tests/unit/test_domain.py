"""Parcel rules: what a valid parcel is, and what each write may and may not do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from ndx_land.domain.land_use import LAND_TYPES
from ndx_land.domain.model import Parcel
from ndx_land.domain.values import FormOfUse, HolderRole, LandOrigin, LandUse, Mortgage
from ndx_runtime.aggregate import Op
from ndx_runtime.errors import InvalidInput, RuleBroken

from ..conftest import AN, BINH, MakeParcel

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
VCB = "0100112437"


def fields(error: InvalidInput) -> set[str]:
    return {v.field for v in error.violations}


def registered(make_parcel: MakeParcel, **changes: object) -> Parcel:
    return Parcel.register(make_parcel(**changes), TODAY, NOW)


def test_a_valid_parcel_registers_at_version_one(make_parcel: MakeParcel) -> None:
    parcel = registered(make_parcel)
    assert parcel.version == 1
    [event] = parcel.events
    assert event.op == Op.CREATE and event.before is None
    assert "holders" in event.changed_fields


def test_the_catalogue_holds_the_common_codes() -> None:
    assert {"ONT", "ODT", "LUC", "CLN", "NTS", "RSX", "TMD", "SKC"} <= LAND_TYPES.keys()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"land_uses": (LandUse("XYZ", 1_205),)}, "land_uses[0].code"),
        ({"area_tenths": -50, "land_uses": (LandUse("ODT", -50),)}, "area_m2"),
        ({"land_uses": (LandUse("ODT", 1_000),)}, "land_uses"),
        ({"long_term": False, "term_end_date": date(2070, 1, 1)}, "long_term"),
        ({"parcel_id": "00004-1-1"}, "parcel_id"),
        ({"holders": (AN,)}, "holders"),
        ({"holders": (dataclasses.replace(AN, citizen_id="12345"), BINH)}, "holders[0].citizen_id"),
        ({"holders": (AN, dataclasses.replace(AN, role=HolderRole.SPOUSE))}, "holders"),
        ({"origin": LandOrigin.UNSPECIFIED}, "origin"),
    ],
)
def test_invalid_parcels_are_refused_naming_the_field(
    make_parcel: MakeParcel, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        registered(make_parcel, **changes)
    assert field in fields(caught.value)


def test_a_bad_certificate_serial_is_named(make_parcel: MakeParcel) -> None:
    parcel = make_parcel()
    parcel.certificate = dataclasses.replace(parcel.certificate, serial="A1695788")
    with pytest.raises(InvalidInput) as caught:
        Parcel.register(parcel, TODAY, NOW)
    assert fields(caught.value) == {"certificate.serial"}


def test_a_mortgage_needs_a_valid_tax_code(make_parcel: MakeParcel) -> None:
    parcel = registered(make_parcel)
    with pytest.raises(InvalidInput) as caught:
        parcel.register_mortgage(Mortgage("TC-1", "0100112438", date(2025, 1, 5)), TODAY, NOW)
    assert fields(caught.value) == {"mortgage.holder_enterprise_code"}
    assert parcel.version == 1


def test_rights_do_not_move_while_a_mortgage_is_in_force(make_parcel: MakeParcel) -> None:
    parcel = registered(make_parcel)
    parcel.register_mortgage(Mortgage("TC-1", VCB, date(2025, 1, 5)), TODAY, NOW)
    assert parcel.version == 2
    buyer = dataclasses.replace(AN, citizen_id="001201000001", role=HolderRole.INDIVIDUAL)
    buyer = dataclasses.replace(buyer, share_bp=10_000)
    with pytest.raises(RuleBroken):
        parcel.transfer((buyer,), LandOrigin.TRANSFERRED, NOW)
    parcel.release_mortgage("TC-1", date(2026, 2, 1), TODAY, NOW)
    with pytest.raises(RuleBroken):
        parcel.release_mortgage("TC-1", date(2026, 2, 1), TODAY, NOW)
    parcel.transfer((buyer,), LandOrigin.TRANSFERRED, NOW)
    assert [h.citizen_id for h in parcel.holders] == ["001201000001"]
    assert parcel.form_of_use == FormOfUse.PRIVATE
    assert parcel.version == 4


def test_a_death_is_recorded_once(make_parcel: MakeParcel) -> None:
    parcel = registered(make_parcel)
    parcel.holder_died(AN.citizen_id, date(2026, 2, 1), NOW)
    parcel.holder_died(AN.citizen_id, date(2026, 2, 1), NOW)
    assert parcel.version == 2
    assert parcel.holders[0].deceased and not parcel.holders[1].deceased
    parcel.rename_holder(BINH.citizen_id, BINH.full_name, NOW)
    assert parcel.version == 2


def test_a_deceased_citizen_acquires_no_right(make_parcel: MakeParcel) -> None:
    with pytest.raises(InvalidInput) as at_registration:
        Parcel.register(make_parcel(), TODAY, NOW, deceased={BINH.citizen_id})
    assert fields(at_registration.value) == {"holders[1].citizen_id"}

    parcel = registered(make_parcel)
    heir = dataclasses.replace(AN, citizen_id="001201000001", share_bp=10_000)
    with pytest.raises(InvalidInput) as at_transfer:
        parcel.transfer((heir,), LandOrigin.INHERITED, NOW, deceased={"001201000001"})
    assert fields(at_transfer.value) == {"holders[0].citizen_id"}
    assert parcel.version == 1
