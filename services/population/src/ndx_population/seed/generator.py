"""Synthetic households of citizens, deterministic for (seed, count, today).

Registries that refer to citizens (land, business) regenerate the same people from the same
seed, so their data agrees with the population registry without the services talking.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

from ndx_refdata import ID_CODES_BY_PROVINCE, Ward, gazetteer

from ..domain.identity_number import IdentityNumber
from ..domain.model import Citizen
from ..domain.values import (
    Address,
    BloodType,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)
from . import names

T = TypeVar("T")
REFERENCE_DAY = date(2026, 1, 1)
M, F = Gender.MALE, Gender.FEMALE
_MIGRANT_DESTINATIONS = ("79", "01", "75", "24")  # HCMC, Hà Nội, Đồng Nai, Bắc Ninh


class Table(Generic[T]):
    """Weighted choice in O(log n) with a precomputed cumulative table."""

    def __init__(self, weighted: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, _ in weighted]
        self.cum = list(accumulate(w for _, w in weighted))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cum, rng.random() * self.total)]


def ascii_fold(text: str) -> str:
    """ "Nguyễn Thị Đào" -> "nguyen thi dao" (for e-mail addresses)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


class _World:
    """Reference tables, built once per generator run."""

    def __init__(self) -> None:
        g = gazetteer()
        self.surnames = Table(names.SURNAMES)
        self.middle = {M: Table(names.MALE_MIDDLE), F: Table(names.FEMALE_MIDDLE)}
        self.given = {M: Table(names.MALE_GIVEN), F: Table(names.FEMALE_GIVEN)}
        self.ethnic = Table(names.ETHNIC_GROUPS)
        self.religion = Table(names.RELIGIONS)
        self.blood = Table(names.BLOOD_TYPES)
        # Provinces weighted by their number of wards, the two largest cities by more.
        boost = {"79": 4.0, "01": 3.0, "48": 1.5, "31": 1.5, "92": 1.3}
        self.provinces = Table([(p, len(p.wards) * boost.get(p.code, 1.0)) for p in g.provinces])
        self.by_code = {p.code: p for p in g.provinces}
        self.fold: dict[str, str] = {}


class _Generator:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
        self.w = _World()
        self.used_ids: set[str] = set()
        self.household_no = 0

    # -- people ---------------------------------------------------------------------------------

    def birth_date(self, age_min: int, age_max: int) -> date:
        age_days = self.rng.randint(age_min * 365 + 1, age_max * 365 + 364)
        return self.today - timedelta(days=age_days)

    def new_id(self, province_code: str, gender: Gender, born: date) -> str:
        codes = ID_CODES_BY_PROVINCE[province_code]
        prefix = codes[0] if len(codes) == 1 else codes[self.rng.randrange(len(codes))]
        while True:
            candidate = IdentityNumber.compose(
                prefix, gender, born.year, self.rng.randrange(1_000_000)
            )
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def name(self, surname: str, gender: Gender) -> str:
        middle, given = self.w.middle[gender].pick(self.rng), self.w.given[gender].pick(self.rng)
        return f"{surname} {middle} {given}"

    def ward_in(self, province_code: str) -> Ward:
        wards = self.w.by_code[province_code].wards
        return wards[self.rng.randrange(len(wards))]

    def street(self, ward: Ward) -> str:
        rng = self.rng
        if ward.kind == "phường":
            road = names.URBAN_STREETS[rng.randrange(len(names.URBAN_STREETS))]
            if rng.random() < 0.4:
                return f"Số {rng.randint(1, 120)} ngõ {rng.randint(1, 400)} đường {road}"
            return f"Số {rng.randint(1, 500)} đường {road}"
        hamlet = "Ấp" if int(ward.province_code) >= 75 else "Thôn"
        return f"{hamlet} {rng.randint(1, 15)}"

    def person(
        self,
        *,
        gender: Gender,
        surname: str,
        born: date,
        home: Address,
        birth_province: str,
        household_id: str,
        relation: HouseholdRelationship,
        ethnicity: str,
        religion: str,
        hometown: Address,
    ) -> Citizen:
        rng = self.rng
        birth_ward = self.ward_in(birth_province)
        citizen_id = self.new_id(birth_province, gender, born)
        full_name = self.name(surname, gender)
        age = (self.today - born).days // 365
        c = Citizen(
            citizen_id=citizen_id,
            full_name=full_name,
            date_of_birth=born,
            gender=gender,
            place_of_birth=Address(birth_province, birth_ward.code, ""),
            hometown=hometown,
            ethnicity=ethnicity,
            religion=religion,
            nationality="VN",
            blood_type=BloodType(self.w.blood.pick(rng)),
            permanent_address=home,
            current_address=home,
            household_id=household_id,
            relationship_to_head=relation,
            marital_status=MaritalStatus.SINGLE,
            version=1,
            updated_at=self.now,
        )
        if age >= 14:
            c.id_card = self.id_card(born, age)
        if born.year < 2000 and age >= 16:
            c.old_id_number = f"{rng.randrange(10**9):09d}"
        if age >= 16 and rng.random() < 0.92:
            prefix = names.MOBILE_PREFIXES[rng.randrange(len(names.MOBILE_PREFIXES))]
            c.phone = f"{prefix}{rng.randrange(10**7):07d}"
        if 18 <= age <= 55 and rng.random() < 0.35:
            folded = self.w.fold.get(full_name) or self.w.fold.setdefault(
                full_name, ascii_fold(full_name).replace(" ", "")
            )
            c.email = f"{folded}{rng.randint(1, 999)}@gmail.com"
        if 18 <= age <= 40 and rng.random() < 0.08:
            dest = _MIGRANT_DESTINATIONS[rng.randrange(len(_MIGRANT_DESTINATIONS))]
            if dest != home.province_code:
                ward = self.ward_in(dest)
                c.temporary_address = Address(dest, ward.code, self.street(ward))
                c.current_address = c.temporary_address
        return c

    def id_card(self, born: date, age: int) -> IdentityCard:
        """Cards are renewed at 14, 25, 40 and 60 (Law on Identification 2023, art. 21)."""
        milestones = [m for m in (14, 25, 40, 60) if m <= age]
        last = milestones[-1]
        issued = _birthday(born, last) + timedelta(days=self.rng.randint(0, 300))
        # Most people got a chip card in the 2021-2024 campaign.
        if self.rng.random() < 0.7:
            campaign = date(2021, 3, 1) + timedelta(days=self.rng.randint(0, 1300))
            if campaign > issued:
                issued = campaign
        issued = min(issued, self.today - timedelta(days=1))
        following = [m for m in (25, 40, 60) if m > last]
        expiry = _birthday(born, following[0]) if following else None
        return IdentityCard(issued, names.ISSUING_AUTHORITY, expiry)

    # -- households -----------------------------------------------------------------------------

    def household(self) -> list[Citizen]:
        rng, w = self.rng, self.w
        self.household_no += 1
        province = w.provinces.pick(rng)
        ward = province.wards[rng.randrange(len(province.wards))]
        home = Address(province.code, ward.code, self.street(ward))
        household_id = f"HK{province.code}{self.household_no:08d}"
        ethnicity = w.ethnic.pick(rng)
        religion = w.religion.pick(rng)
        hometown_province = province.code if rng.random() < 0.75 else w.provinces.pick(rng).code
        hw = self.ward_in(hometown_province)
        hometown = Address(hometown_province, hw.code, "")
        surname = w.surnames.pick(rng)
        local = province.code

        def born_where() -> str:
            return local if rng.random() < 0.8 else w.provinces.pick(rng).code

        def make(gender: Gender, sname: str, born: date, rel: HouseholdRelationship) -> Citizen:
            return self.person(
                gender=gender,
                surname=sname,
                born=born,
                home=home,
                birth_province=born_where(),
                household_id=household_id,
                relation=rel,
                ethnicity=ethnicity,
                religion=religion,
                hometown=hometown,
            )

        H = HouseholdRelationship
        kind = rng.random()
        members: list[Citizen] = []
        if kind < 0.14:  # one person
            gender = M if rng.random() < 0.5 else F
            head = make(
                gender,
                surname if gender is M else w.surnames.pick(rng),
                self.birth_date(20, 85),
                H.HEAD,
            )
            if rng.random() < 0.15:
                head.marital_status = MaritalStatus.DIVORCED
            return [head]
        three_gen = kind > 0.88
        head_age = (55, 80) if three_gen else (24, 70)
        husband = make(M, surname, self.birth_date(*head_age), H.HEAD)
        wife_born = min(
            husband.date_of_birth + timedelta(days=rng.randint(-1500, 2500)),
            self.today - timedelta(days=19 * 365),
        )
        wife = make(F, w.surnames.pick(rng), wife_born, H.SPOUSE)
        _marry(husband, wife)
        members += [husband, wife]
        youngest_parent = max(husband.date_of_birth, wife.date_of_birth)
        children = self.children(
            husband, wife, youngest_parent, make, rng.choice((0, 1, 1, 2, 2, 2, 3))
        )
        members += children
        if three_gen and children:
            son = next(
                (
                    c
                    for c in children
                    if c.gender is M and c.date_of_birth.year <= self.today.year - 22
                ),
                None,
            )
            if son is not None:
                daughter_in_law = make(
                    F,
                    w.surnames.pick(rng),
                    _clamp_adult(
                        son.date_of_birth + timedelta(days=rng.randint(-1000, 1500)), self.today
                    ),
                    H.OTHER,
                )
                _marry(son, daughter_in_law)
                members.append(daughter_in_law)
                members += self.children(
                    son,
                    daughter_in_law,
                    max(son.date_of_birth, daughter_in_law.date_of_birth),
                    make,
                    rng.choice((1, 1, 2, 2)),
                    H.GRANDCHILD,
                )
        elif not three_gen and rng.random() < 0.12 and husband.date_of_birth.year < 1990:
            # An elderly parent of the head lives with the family.
            born = husband.date_of_birth - timedelta(days=rng.randint(20 * 365, 35 * 365))
            if (self.today - born).days < 100 * 365:
                mother = make(F, w.surnames.pick(rng), born, H.PARENT)
                mother.marital_status = MaritalStatus.WIDOWED
                husband.mother_id = mother.citizen_id
                members.append(mother)
        self.deaths(members)
        return members

    def children(
        self,
        father: Citizen,
        mother: Citizen,
        youngest_parent: date,
        make: object,
        n: int,
        relation: HouseholdRelationship = HouseholdRelationship.CHILD,
    ) -> list[Citizen]:
        out: list[Citizen] = []
        earliest = youngest_parent + timedelta(days=19 * 365)
        latest = min(youngest_parent + timedelta(days=42 * 365), self.today - timedelta(days=30))
        if earliest >= latest:
            return out
        span = (latest - earliest).days
        for _ in range(n):
            born = earliest + timedelta(days=self.rng.randrange(span))
            gender = M if self.rng.random() < 0.52 else F
            child = make(gender, father.full_name.split(" ", 1)[0], born, relation)  # type: ignore[operator]
            child.father_id, child.mother_id = father.citizen_id, mother.citizen_id
            out.append(child)
        return out

    def deaths(self, members: list[Citizen]) -> None:
        """A few elderly people have died; a surviving spouse is then widowed."""
        for c in members:
            age = (self.today - c.date_of_birth).days // 365
            if age >= 65 and self.rng.random() < 0.04:
                c.date_of_death = self.today - timedelta(days=self.rng.randint(30, 3 * 365))
                if c.date_of_death <= c.date_of_birth:
                    c.date_of_death = None
                    continue
                spouse = next((s for s in members if s.citizen_id == c.spouse_id), None)
                if spouse is not None and spouse.date_of_death is None:
                    spouse.marital_status = MaritalStatus.WIDOWED


def _marry(a: Citizen, b: Citizen) -> None:
    a.spouse_id, b.spouse_id = b.citizen_id, a.citizen_id
    a.marital_status = b.marital_status = MaritalStatus.MARRIED


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return born.replace(year=born.year + years, day=28)


def _clamp_adult(born: date, today: date) -> date:
    return min(born, today - timedelta(days=19 * 365))


def generate_citizens(seed: int, count: int, today: date = REFERENCE_DAY) -> Iterator[Citizen]:
    """Exactly `count` citizens in households; the same arguments give the same citizens."""
    gen = _Generator(seed, today)
    produced = 0
    while produced < count:
        for citizen in gen.household()[: count - produced]:
            yield citizen
            produced += 1
