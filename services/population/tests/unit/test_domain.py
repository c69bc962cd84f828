"""Citizen rules: ids, validation, updates, deaths, verification."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ndx_population.domain.identity_number import IdentityNumber
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import Address, Gender, MaritalStatus
from ndx_population.domain.verification import Result, verify
from ndx_runtime.aggregate import Op
from ndx_runtime.errors import InvalidInput, RuleBroken, StaleVersion

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def lan() -> Citizen:
    return Citizen(
        citizen_id="001190012345",
        full_name="Nguyễn Thị Lan",
        date_of_birth=date(1990, 5, 2),
        gender=Gender.FEMALE,
        permanent_address=Address("01", "00004", "Số 12 phố Đội Cấn"),
    )


@pytest.mark.parametrize(
    ("value", "gender", "year"),
    [
        ("001190012345", Gender.FEMALE, 1990),
        ("079085000001", Gender.MALE, 1985),
        ("038205123456", Gender.MALE, 2005),
        ("096303999999", Gender.FEMALE, 2003),
    ],
)
def test_identity_number_decodes_gender_and_year(value: str, gender: Gender, year: int) -> None:
    number = IdentityNumber.parse(value)
    assert (number.gender, number.birth_year) == (gender, year)
    assert IdentityNumber.compose(number.province_code, gender, year, int(value[6:])) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("00119001234", "12 digits"),
        ("00119001234x", "12 digits"),
        ("003190012345", "province code"),
        ("001690012345", "century/gender"),
    ],
)
def test_identity_number_rejects_malformed(value: str, why: str) -> None:
    with pytest.raises(InvalidInput) as e:
        IdentityNumber.parse(value)
    assert e.value.violations[0].field == "citizen_id"
    assert why in e.value.violations[0].description


def test_register_sets_version_one_and_records_a_create() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    assert c.version == 1
    [event] = c.events
    assert event.op == Op.CREATE and event.before is None
    assert {"citizen_id", "full_name", "date_of_birth", "gender", "permanent_address"} <= set(
        event.changed_fields
    )


def test_validation_names_every_broken_field() -> None:
    c = lan()
    c.date_of_birth = date(1991, 1, 1)
    c.gender = Gender.MALE
    c.father_id = "123"
    with pytest.raises(InvalidInput) as e:
        c.validate(TODAY)
    fields = {v.field for v in e.value.violations}
    assert fields == {"date_of_birth", "gender", "father_id"}


def test_birth_in_the_future_is_rejected() -> None:
    c = Citizen("001226012345", "Trần Văn B", date(2026, 12, 1), Gender.MALE)
    with pytest.raises(InvalidInput, match="in the future"):
        c.validate(TODAY)


def test_update_changes_only_named_fields_and_bumps_version() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    c.events.clear()
    c.apply_update({"permanent_address": Address("79", "26743", "12 Lê Lợi")}, TODAY, NOW)
    [event] = c.events
    assert c.version == 2
    assert event.changed_fields == ("permanent_address",)
    assert event.before is not None and event.before.permanent_address == lan().permanent_address


def test_update_refuses_identity_fields() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    with pytest.raises(InvalidInput) as e:
        c.apply_update(
            {"citizen_id": "001190099999", "date_of_birth": date(1990, 1, 1)}, TODAY, NOW
        )
    assert {v.field for v in e.value.violations} == {"citizen_id", "date_of_birth"}


def test_update_with_same_values_is_not_a_change() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    c.events.clear()
    c.apply_update({"full_name": "Nguyễn Thị Lan"}, TODAY, NOW)
    assert c.version == 1 and not c.events


def test_stale_version_is_refused() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    with pytest.raises(StaleVersion):
        c.check_version(2)


def test_death_is_recorded_once() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    c.record_death(date(2026, 1, 2), TODAY, NOW)
    assert c.date_of_death == date(2026, 1, 2) and c.version == 2
    with pytest.raises(RuleBroken):
        c.record_death(date(2026, 1, 3), TODAY, NOW)
    with pytest.raises(RuleBroken):
        c.apply_update({"marital_status": MaritalStatus.MARRIED}, TODAY, NOW)


def test_death_before_birth_is_rejected() -> None:
    c = Citizen.register(lan(), TODAY, NOW)
    with pytest.raises(InvalidInput):
        c.record_death(date(1980, 1, 1), TODAY, NOW)


def test_verify_never_needs_the_stored_value() -> None:
    stored = lan()
    claims = Citizen(
        "",
        "  nguyễn THỊ   lan ",
        date(1990, 5, 2),
        Gender.UNSPECIFIED,
        permanent_address=Address("", "00004", ""),
        phone="0912345678",
    )
    overall, results = verify(
        stored, claims, ["full_name", "date_of_birth", "permanent_address", "phone"]
    )
    assert results == [Result.MATCH, Result.MATCH, Result.MATCH, Result.UNKNOWN]
    assert overall is Result.UNKNOWN
    claims.full_name = "Nguyễn Thị Lân"
    overall, results = verify(stored, claims, ["full_name", "permanent_address.ward_code"])
    assert (overall, results) == (Result.MISMATCH, [Result.MISMATCH, Result.MATCH])


def test_verify_unknown_citizen_is_unknown() -> None:
    overall, results = verify(None, lan(), ["full_name"])
    assert (overall, results) == (Result.UNKNOWN, [Result.UNKNOWN])
