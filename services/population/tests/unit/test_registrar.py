"""People registered after the seed: valid, named after their families, never repeated."""

from __future__ import annotations

from datetime import date

from ndx_population.domain.identity_number import IdentityNumber
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import Gender, HouseholdRelationship, MaritalStatus
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.registrar import Registrar, populous_wards
from ndx_refdata import gazetteer

TODAY = date(2026, 11, 23)


def couples() -> list[tuple[Citizen, Citizen]]:
    people = list(generate_citizens(3, 2_000))
    by_id = {c.citizen_id: c for c in people}
    return [
        (c, by_id[c.spouse_id])
        for c in people
        if c.gender is Gender.FEMALE
        and c.marital_status is MaritalStatus.MARRIED
        and c.spouse_id in by_id
    ]


def test_newborns_are_valid_citizens_of_their_mothers_household() -> None:
    registrar = Registrar(1, TODAY)
    ids = set()
    for mother, father in couples()[:200]:
        child = registrar.newborn(mother, father, TODAY)
        child.validate(TODAY)
        number = IdentityNumber.parse(child.citizen_id)
        assert (number.birth_year, number.gender) == (2026, child.gender)
        assert (child.mother_id, child.father_id) == (mother.citizen_id, father.citizen_id)
        assert child.household_id == mother.household_id
        assert child.permanent_address == mother.permanent_address
        assert child.relationship_to_head in (
            HouseholdRelationship.CHILD,
            HouseholdRelationship.GRANDCHILD,
        )
        lineal = mother if mother.ethnicity in ("Ê Đê", "Gia Rai") else father
        assert registrar.family_name(child) == registrar.family_name(lineal)
        assert child.version == 0
        ids.add(child.citizen_id)
    assert len(ids) == 200


def test_the_same_seed_registers_the_same_people() -> None:
    mother, father = couples()[0]
    first = Registrar(5, TODAY).newborn(mother, father, TODAY)
    again = Registrar(5, TODAY).newborn(mother, father, TODAY)
    other = Registrar(6, TODAY).newborn(mother, father, TODAY)
    assert first == again
    assert other.citizen_id != first.citizen_id


def test_a_new_name_keeps_the_family_name() -> None:
    registrar = Registrar(1, TODAY)
    for c in list(generate_citizens(4, 300)):
        name = registrar.new_name(c)
        assert name != c.full_name
        assert registrar.family_name(c) in name


def test_new_homes_and_households() -> None:
    registrar = Registrar(1, TODAY)
    home = registrar.new_home("79")
    ward = gazetteer().ward(home.ward_code)
    assert ward is not None and ward.province_code == "79" and home.street
    households = {registrar.household_id("79") for _ in range(100)}
    assert len(households) == 100
    assert all(h.startswith("HK79") and len(h) == 12 for h in households)


def test_populous_wards_lists_every_ward_the_big_cities_first() -> None:
    wards = populous_wards()
    assert sorted(wards) == sorted(w.code for w in gazetteer().wards)
    first = [gazetteer().ward(code) for code in wards[:20]]
    assert {w.province_code for w in first if w is not None} <= {"01", "79"}  # the two cities
