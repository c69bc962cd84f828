"""The seed generator: deterministic, valid, consistent households, real places."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from ndx_population.domain.identity_number import IdentityNumber
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import HouseholdRelationship, MaritalStatus
from ndx_population.seed.generator import REFERENCE_DAY, generate_citizens
from ndx_refdata import ID_CODES_BY_PROVINCE, gazetteer, id_provinces

N = 5_000


@pytest.fixture(scope="module")
def people() -> list[Citizen]:
    return list(generate_citizens(11, N))


def test_same_seed_same_citizens(people: list[Citizen]) -> None:
    assert list(generate_citizens(11, N)) == people
    assert list(generate_citizens(12, N)) != people
    assert len(people) == N


def test_every_citizen_passes_the_registry_rules(people: list[Citizen]) -> None:
    for citizen in people:
        citizen.validate(REFERENCE_DAY)


def test_ids_are_unique_and_follow_the_id_structure(people: list[Citizen]) -> None:
    assert len({c.citizen_id for c in people}) == N
    for c in people:
        number = IdentityNumber.parse(c.citizen_id)
        assert number.province_code in id_provinces()
        assert number.gender is c.gender
        assert number.birth_year == c.date_of_birth.year
        assert c.place_of_birth is not None
        # The ID's province of birth registration lies in the 2025 province of the birth place.
        assert number.province_code in ID_CODES_BY_PROVINCE[c.place_of_birth.province_code]


def test_household_links_point_at_each_other(people: list[Citizen]) -> None:
    by_id = {c.citizen_id: c for c in people}
    heads = Counter(
        c.household_id for c in people if c.relationship_to_head is HouseholdRelationship.HEAD
    )
    households = {c.household_id for c in people}
    assert all(heads[h] == 1 for h in households)
    for c in people:
        if c.spouse_id:
            spouse = by_id[c.spouse_id]
            assert spouse.spouse_id == c.citizen_id
            assert spouse.gender is not c.gender
            assert c.marital_status in (MaritalStatus.MARRIED, MaritalStatus.WIDOWED)
        for parent_id in (c.father_id, c.mother_id):
            if parent_id:
                parent = by_id[parent_id]
                assert parent.date_of_birth < c.date_of_birth
                assert parent.household_id == c.household_id
    homes: dict[str, set[object]] = {}
    for c in people:
        homes.setdefault(c.household_id, set()).add(c.permanent_address)
    assert all(len(addresses) == 1 for addresses in homes.values())
    assert sum(1 for c in people if c.father_id) > N // 5


def test_addresses_are_real_wards(people: list[Citizen]) -> None:
    g = gazetteer()
    for c in people:
        for address in (c.permanent_address, c.current_address, c.place_of_birth, c.hometown):
            assert address is not None
            ward = g.ward(address.ward_code)
            assert ward is not None and ward.province_code == address.province_code


def test_population_looks_vietnamese(people: list[Citizen]) -> None:
    surnames = Counter(c.full_name.split()[0] for c in people)
    assert surnames.most_common(1)[0][0] == "Nguyễn"
    assert 0.25 < surnames["Nguyễn"] / N < 0.5
    assert Counter(c.ethnicity for c in people)["Kinh"] / N > 0.75
    ages = [(REFERENCE_DAY - c.date_of_birth).days // 365 for c in people]
    assert min(ages) < 5 and max(ages) > 70
    assert all(c.date_of_birth <= REFERENCE_DAY for c in people)
    assert date(1900, 1, 1) < min(c.date_of_birth for c in people)
