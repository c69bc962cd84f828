"""The seed generator: deterministic, valid, consistent households, real places."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date

import pytest

from ndx_population.adapters.rows import citizen_to_row, row_to_citizen
from ndx_population.domain.identity_number import IdentityNumber
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import (
    Address,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)
from ndx_population.seed.generator import (
    REFERENCE_DAY,
    ascii_fold,
    birth_registration_code,
    generate_citizens,
)
from ndx_refdata import ID_CODES_BY_PROVINCE, gazetteer, id_provinces

N = 5_000
H = HouseholdRelationship


@pytest.fixture(scope="module")
def people() -> list[Citizen]:
    return list(generate_citizens(11, N))


def _digest(seed: int, count: int) -> str:
    return hashlib.sha256(repr(list(generate_citizens(seed, count))).encode()).hexdigest()


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_same_seed_same_citizens(people: list[Citizen]) -> None:
    assert list(generate_citizens(11, N)) == people
    assert list(generate_citizens(12, N)) != people
    assert len(people) == N


def test_same_citizens_in_another_process_with_another_hash_seed() -> None:
    code = (
        "import sys; sys.path[:0] = sys.argv[1:2]; from test_seed import _digest; "
        "print(_digest(3, 2000))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    here = os.path.dirname(__file__)
    out = subprocess.run(
        [sys.executable, "-c", code, here], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest(3, 2000)


def test_first_citizens_do_not_depend_on_the_count(people: list[Citizen]) -> None:
    assert list(generate_citizens(11, 1000)) == people[:1000]


def test_every_citizen_passes_the_registry_rules(people: list[Citizen]) -> None:
    for citizen in people:
        citizen.validate(REFERENCE_DAY)
        assert citizen.version == 1 and citizen.updated_at is not None
        assert citizen.date_of_birth <= REFERENCE_DAY


def test_ids_are_unique_and_follow_the_id_structure(people: list[Citizen]) -> None:
    assert len({c.citizen_id for c in people}) == N
    for c in people:
        number = IdentityNumber.parse(c.citizen_id)
        assert number.province_code in id_provinces()
        assert number.gender is c.gender
        assert number.birth_year == c.date_of_birth.year
        assert c.place_of_birth is not None
        # The ID's province of birth registration is the (old) province of the birth ward.
        assert number.province_code in ID_CODES_BY_PROVINCE[c.place_of_birth.province_code]
        assert number.province_code == birth_registration_code(c.place_of_birth.ward_code)


@pytest.mark.parametrize(
    ("ward", "code"),
    [
        ("00691", "002"),  # Phường Hà Giang 2: Hà Giang, now part of Tuyên Quang
        ("02266", "008"),  # Xã Lâm Bình: Tuyên Quang itself
        ("25747", "074"),  # Phường Thủ Dầu Một: Bình Dương, now Hồ Chí Minh City
        ("26732", "077"),  # Đặc khu Côn Đảo: Bà Rịa - Vũng Tàu, now Hồ Chí Minh City
        ("26767", "079"),  # Phường An Phú Đông: Hồ Chí Minh City
        ("00004", "001"),  # Phường Ba Đình: Hà Nội
    ],
)
def test_birth_ward_decides_the_id_province_code(ward: str, code: str) -> None:
    assert birth_registration_code(ward) == code


def test_other_numbers_are_unique(people: list[Citizen]) -> None:
    for name in ("old_id_number", "phone", "email"):
        values = [getattr(c, name) for c in people if getattr(c, name)]
        assert len(values) > N // 10, name
        assert len(set(values)) == len(values), name
    for c in people:
        if c.phone:
            assert len(c.phone) == 10 and c.phone[:2] in {"03", "05", "07", "08", "09"}
        if c.email:
            assert c.email.isascii() and c.email.count("@") == 1
        if c.old_id_number:
            assert c.date_of_birth.year < 2002


def test_household_links_point_at_each_other(people: list[Citizen]) -> None:
    by_id = {c.citizen_id: c for c in people}
    households: dict[str, list[Citizen]] = defaultdict(list)
    for c in people:
        households[c.household_id].append(c)
    for members in households.values():
        assert 1 <= len(members) <= 7
        assert [m.relationship_to_head for m in members].count(H.HEAD) == 1
        assert len({m.permanent_address for m in members}) == 1
    for c in people:
        assert c.household_id.startswith("HK") and len(c.household_id) == 12
        if c.spouse_id:
            spouse = by_id[c.spouse_id]
            assert spouse.spouse_id == c.citizen_id
            assert spouse.gender is not c.gender
            assert spouse.household_id == c.household_id
            assert c.marital_status in (MaritalStatus.MARRIED, MaritalStatus.WIDOWED)
            assert _years(c.date_of_birth, REFERENCE_DAY) >= 18
        elif c.marital_status is MaritalStatus.MARRIED:
            pytest.fail(f"{c.citizen_id} is married without a spouse")
        for parent_id, gender in ((c.father_id, Gender.MALE), (c.mother_id, Gender.FEMALE)):
            if parent_id:
                parent = by_id[parent_id]
                assert parent.gender is gender
                assert _years(parent.date_of_birth, c.date_of_birth) >= 15
                assert parent.household_id == c.household_id
                assert parent.full_name != c.full_name
    assert sum(1 for c in people if c.father_id) > N // 5
    assert {c.relationship_to_head for c in people} >= {H.HEAD, H.SPOUSE, H.CHILD, H.GRANDCHILD}


def test_siblings_have_different_names(people: list[Citizen]) -> None:
    families: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in people:
        if c.mother_id:
            families[(c.father_id, c.mother_id)].append(c.full_name)
    assert all(len(set(names)) == len(names) for names in families.values())


def test_children_take_the_lineal_family_name(people: list[Citizen]) -> None:
    by_id = {c.citizen_id: c for c in people}
    patrilineal = [c for c in people if c.father_id and c.ethnicity == "Kinh"]
    assert patrilineal
    for c in patrilineal:
        assert c.full_name.split()[0] == by_id[c.father_id].full_name.split()[0]
    # The Ê Đê are matrilineal and put the family name last: "Y Moan Niê", "H'Hen Niê".
    for c in people:
        if c.ethnicity == "Ê Đê" and c.mother_id:
            mother_family_name = by_id[c.mother_id].full_name.split(" ", 1)[1]
            assert c.full_name.endswith(" " + mother_family_name)


def test_identity_cards_follow_the_renewal_ages(people: list[Citizen]) -> None:
    for c in people:
        age = _years(c.date_of_birth, REFERENCE_DAY)
        card = c.id_card
        if age >= 15:
            assert card is not None, c.citizen_id
        if card is None:
            continue
        assert card.issue_date is not None and card.issue_place
        assert c.date_of_birth < card.issue_date < REFERENCE_DAY
        if card.expiry_date is None:
            assert _years(c.date_of_birth, card.issue_date) >= 58
        else:
            assert card.expiry_date > card.issue_date
            assert card.expiry_date.year - c.date_of_birth.year in (14, 25, 40, 60)
            assert card.expiry_date.month == c.date_of_birth.month


def test_the_dead_and_the_widowed(people: list[Citizen]) -> None:
    by_id = {c.citizen_id: c for c in people}
    dead = [c for c in people if c.date_of_death is not None]
    assert dead
    for c in dead:
        assert c.date_of_death is not None and c.date_of_birth <= c.date_of_death < REFERENCE_DAY
        if c.id_card and c.id_card.issue_date:
            assert c.id_card.issue_date <= c.date_of_death
        if c.spouse_id and by_id[c.spouse_id].date_of_death is None:
            assert by_id[c.spouse_id].marital_status is MaritalStatus.WIDOWED
    assert any(c.marital_status is MaritalStatus.WIDOWED for c in people)


def test_addresses_are_real_wards(people: list[Citizen]) -> None:
    g = gazetteer()
    for c in people:
        for address in (c.permanent_address, c.current_address, c.place_of_birth, c.hometown):
            assert address is not None
            ward = g.ward(address.ward_code)
            assert ward is not None and ward.province_code == address.province_code
        assert c.permanent_address is not None and c.permanent_address.street
        if c.temporary_address is not None:
            assert c.temporary_address.province_code != c.permanent_address.province_code
            assert c.current_address == c.temporary_address
        else:
            assert c.current_address == c.permanent_address
    assert sum(c.temporary_address is not None for c in people) > N // 100


def test_population_looks_vietnamese(people: list[Citizen]) -> None:
    kinh = [c for c in people if c.ethnicity == "Kinh"]
    surnames = Counter(c.full_name.split()[0] for c in kinh)
    assert surnames.most_common(1)[0][0] == "Nguyễn"
    assert 0.3 < surnames["Nguyễn"] / len(kinh) < 0.46
    assert 0.78 < len(kinh) / N < 0.92
    assert len({c.ethnicity for c in people}) > 15
    assert 0.78 < sum(c.religion == "" for c in people) / N < 0.92
    ages = [_years(c.date_of_birth, REFERENCE_DAY) for c in people]
    assert 0.17 < sum(a < 15 for a in ages) / N < 0.3
    assert 0.05 < sum(a >= 65 for a in ages) / N < 0.15
    assert date(1900, 1, 1) < min(c.date_of_birth for c in people)
    assert 0.45 < sum(c.gender is Gender.FEMALE for c in people) / N < 0.55


def test_minorities_live_where_they_live() -> None:
    people = list(generate_citizens(4, 40_000))
    mekong = {"79", "82", "86", "91", "92", "96"}
    north_hills = {"04", "08", "11", "12", "14", "15", "19", "20", "38", "40"}
    khmer = [c for c in people if c.ethnicity == "Khmer" and c.permanent_address]
    hmong = [c for c in people if c.ethnicity == "H'Mông" and c.permanent_address]
    assert khmer and hmong
    assert all(c.permanent_address.province_code in mekong for c in khmer if c.permanent_address)
    assert all(
        c.permanent_address.province_code in north_hills for c in hmong if c.permanent_address
    )


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 21, 34])
def test_a_cut_household_keeps_no_dangling_links(count: int) -> None:
    people = list(generate_citizens(7, count))
    ids = {c.citizen_id for c in people}
    assert len(people) == count
    for c in people:
        assert {c.father_id, c.mother_id, c.spouse_id} - {""} <= ids


def test_ascii_fold() -> None:
    assert ascii_fold("Nguyễn Thị Đào") == "nguyenthidao"
    assert ascii_fold("H'Hen Niê") == "hhennie"


def test_rows_round_trip_exactly(people: list[Citizen]) -> None:
    extra = Citizen(
        citizen_id="001099000001",
        full_name="Trần Văn Tèo",
        date_of_birth=date(1999, 2, 28),
        gender=Gender.MALE,
        other_names=("Tí", "Bé Tèo"),
        id_card=IdentityCard(date(2021, 5, 1), "Bộ Công an", None),
        temporary_address=Address("79", "26734", "Số 1/2 đường Lê Lợi"),
        date_of_death=date(2025, 1, 2),
    )
    for c in [*people, extra]:
        row = citizen_to_row(c)
        assert row["household_id"] == c.household_id and row["gender"] == int(c.gender)
        assert row_to_citizen(row) == c
    row = citizen_to_row(extra)
    assert row["other_names"] == "Tí\nBé Tèo"
    assert row["full_name_key"] == "trần văn tèo"
    assert row["hometown_ward"] is None and row["temporary_address_street"].startswith("Số")
