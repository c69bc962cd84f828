"""Synthetic households of citizens, deterministic for (seed, count, today).

Registries that refer to citizens (land, business) regenerate the same people from the same
seed, so their data agrees with the population registry without the services talking. Only
`random.Random(seed)` decides anything: no hash() of strings, no clock, no set iteration.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from itertools import accumulate
from typing import Generic, TypeVar

from ndx_refdata import ID_CODES_BY_PROVINCE, Ward, gazetteer

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

__all__ = [
    "REFERENCE_DAY",
    "Table",
    "ascii_fold",
    "birth_registration_code",
    "generate_citizens",
]

T = TypeVar("T")
REFERENCE_DAY = date(2026, 1, 1)
M, F = Gender.MALE, Gender.FEMALE
H = HouseholdRelationship
YEAR = 365.2425
_MILESTONES = (14, 25, 40, 60)  # card renewal ages, Law on Identification 2023 art. 21
_CARDS_FOR_CHILDREN = date(2024, 7, 1).toordinal()  # the 2023 law: cards under 14 on request
_CHIP_CAMPAIGN = (date(2021, 3, 1).toordinal(), date(2024, 12, 31).toordinal())
_FIRST_CARD = date(2016, 1, 1).toordinal()  # citizen identity cards replace the old CMND
# Serials walk each (province, century/gender, year) bucket with a stride coprime to 10**6, so
# they look scattered yet never repeat: uniqueness by construction, not by a set of used ids.
_SERIAL_STRIDE = 389_117
_OLD_ID_STRIDE = 7_919_821_3  # coprime to 10**9
_PHONE_STRIDE = 48_271_193  # coprime to 32 * 10**7


class Table(Generic[T]):
    """Weighted choice in O(log n) with a precomputed cumulative table."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, weighted: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, _ in weighted]
        self.cum = list(accumulate(w for _, w in weighted))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        """One item, with probability proportional to its weight."""
        return self.items[bisect(self.cum, rng.random() * self.total)]


def ascii_fold(text: str) -> str:
    """ "Nguyễn Thị Đào" -> "nguyenthidao": letters and digits only, for e-mail addresses."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def _densities(spec: str, provinces: Sequence[str]) -> dict[str, float]:
    pairs = dict(pair.split(":") for pair in spec.split())
    default = float(pairs.pop("*", 0))
    return {p: float(pairs.get(p, default)) for p in provinces}


def _local_shares(
    groups: Sequence[tuple[str, float, str]], population: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Per province, each group's share such that the national shares come out as given."""
    total = sum(population.values())
    out: dict[str, dict[str, float]] = {p: {} for p in population}
    for name, share, spec in groups:
        density = _densities(spec, list(population))
        mean = sum(population[p] / total * d for p, d in density.items())
        for p, d in density.items():
            if d:
                out[p][name] = share / 100 * d / mean
    return out


@dataclass(frozen=True, slots=True)
class _Style:
    """How a group names people: tables indexed by Gender (old fashion, new fashion)."""

    surnames: Table[str]
    middle: tuple[Table[str], ...]  # [gender * 2 + new fashion]; "" is no middle name
    given: tuple[Table[str], ...]
    given_first: bool
    matrilineal: bool


class _World:
    """Reference tables, the same for every seed: built once per process."""

    def __init__(self) -> None:
        g = gazetteer()
        population = names.PROVINCE_POPULATION
        self.provinces = Table([(p.code, population[p.code]) for p in g.provinces])
        # Urban wards hold more people than rural communes.
        kind_weight = {"phường": 2.5, "xã": 1.0}
        weighted = {
            p.code: [(w, kind_weight.get(w.kind, 0.3)) for w in p.wards] for p in g.provinces
        }
        self.wards = {p: Table(wards) for p, wards in weighted.items()}
        # Places without a street (birth places, hometowns) are shared values: one per ward.
        self.places = {
            p: Table([(Address(p, w.code, ""), x) for w, x in wards])
            for p, wards in weighted.items()
        }
        self.migration = Table(names.MIGRANT_DESTINATIONS)
        self.id_code = {w.code: birth_registration_code(w.code) for w in g.wards}
        ethnic = _local_shares(names.ETHNIC_GROUPS, population)
        self.ethnic = {p: _with_rest(names.MAJORITY, shares) for p, shares in ethnic.items()}
        religion = _local_shares(names.RELIGIONS, population)
        self.religion = {p: _with_rest("", shares) for p, shares in religion.items()}
        self.ethnic_religion = {
            e: Table([("" if r == names.NO_RELIGION else r, w) for r, w in table])
            for e, table in names.ETHNIC_RELIGIONS.items()
        }
        self.blood = Table([(BloodType(int(b)), w) for b, w in names.BLOOD_TYPES])
        self.phone_prefixes = names.MOBILE_PREFIXES
        self.email_domains = Table(names.EMAIL_DOMAINS)
        self.styles: dict[str, _Style] = {}
        kinh = self._style(names.SURNAMES)
        self.default_style = kinh
        for ethnicity, surnames in names.ETHNIC_SURNAMES.items():
            self.styles[ethnicity] = self._style(surnames, ethnicity)
        self.fold: dict[str, str] = {}

    @staticmethod
    def _style(surnames: Sequence[tuple[str, float]], ethnicity: str = "") -> _Style:
        male_given = (Table(names.MALE_GIVEN_OLD), Table(names.MALE_GIVEN_NEW))
        female_given = (Table(names.FEMALE_GIVEN_OLD), Table(names.FEMALE_GIVEN_NEW))
        male_middle = (Table(names.MALE_MIDDLE_OLD), Table(names.MALE_MIDDLE_NEW))
        female_middle = (Table(names.FEMALE_MIDDLE_OLD), Table(names.FEMALE_MIDDLE_NEW))
        if ethnicity == "H'Mông":
            male_middle = (Table(names.HMONG_MALE_MIDDLE),) * 2
            female_middle = (Table([("Thị", 1.0)]),) * 2
            male_given = (Table(names.HMONG_MALE_GIVEN),) * 2
            female_given = (Table(names.HMONG_FEMALE_GIVEN),) * 2
        elif ethnicity in names.MATRILINEAL:
            male_middle = female_middle = (Table([("", 1.0)]),) * 2
            male_given = (Table(names.HIGHLAND_MALE_GIVEN),) * 2
            female_given = (Table(names.HIGHLAND_FEMALE_GIVEN),) * 2
        unused = (male_middle[0],)  # Gender 0 (unspecified) is never generated
        return _Style(
            Table(surnames),
            (*unused * 2, *male_middle, *female_middle),
            (*unused * 2, *male_given, *female_given),
            ethnicity in names.GIVEN_NAME_FIRST,
            ethnicity in names.MATRILINEAL,
        )

    def fold_name(self, text: str) -> str:
        folded = self.fold.get(text)
        if folded is None:
            folded = self.fold[text] = ascii_fold(text)
        return folded


def _with_rest(rest: str, shares: dict[str, float]) -> Table[str]:
    # Where the named groups would exceed the whole, they are scaled down to leave 5 per cent.
    named = sum(shares.values())
    scale = min(1.0, 0.95 / named) if named else 1.0
    return Table([(rest, 1.0 - named * scale), *((n, s * scale) for n, s in shares.items())])


_BLOCK_STARTS = [first for first, _ in names.OLD_PROVINCE_BLOCKS]


def birth_registration_code(ward_code: str) -> str:
    """The 3-digit ID province code for a birth registered in this 2025 ward (its old province)."""
    ward = gazetteer().ward(ward_code)
    if ward is None:
        raise KeyError(f"{ward_code!r} is not a ward of the 2025 catalogue")
    code = names.OLD_PROVINCE_BLOCKS[bisect_right(_BLOCK_STARTS, int(ward_code)) - 1][1]
    allowed = ID_CODES_BY_PROVINCE[ward.province_code]
    return code if code in allowed else allowed[0]


@cache
def _world() -> _World:
    return _World()


@dataclass(slots=True)
class _Home:
    """What the members of one household share."""

    province: str
    place: Address  # the home's ward, without the street
    address: Address
    household_id: str
    ethnicity: str
    religion: str
    style: _Style
    taken: set[str]  # given names already used in the family
    surnames: dict[str, str]  # citizen id -> family name (some are two words, some come last)


class _Generator:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.today_ord = today.toordinal()
        self.now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
        self.w = _world()
        self.household_no = 0
        self.serials: dict[str, int] = {}
        self.serial_offsets: dict[str, int] = {}
        self.old_ids = 0
        self.old_id_offset = self.rng.randrange(10**9)
        self.phones = 0
        self.phone_offset = self.rng.randrange(len(self.w.phone_prefixes) * 10**7)
        self.emails: dict[str, int] = {}

    # -- places ---------------------------------------------------------------------------------

    def street(self, ward: Ward) -> str:
        rng, p = self.rng, ward.province_code
        r = rng.random()
        n = 1 + int(rng.random() * 200)
        if ward.kind == "phường":
            road = names.STREETS[int(rng.random() * len(names.STREETS))]
            if p in ("01", "31"):  # Hà Nội and Hải Phòng number alleys (ngõ) off streets (phố)
                if r < 0.45:
                    return f"Số {n} ngõ {1 + int(rng.random() * 400)} phố {road}"
                return f"Số {n} phố {road}"
            if p <= "46":
                if r < 0.3:
                    return f"Số {n} ngõ {1 + int(rng.random() * 200)} đường {road}"
                if r < 0.5:
                    return f"Tổ dân phố {1 + int(rng.random() * 30)}"
                return f"Số {n} đường {road}"
            if r < 0.4:  # the South numbers houses in a lane (hẻm) after the lane's own number
                return f"Số {n}/{1 + int(rng.random() * 90)} đường {road}"
            if r < 0.55 and p != "79":
                return f"Khu phố {1 + int(rng.random() * 12)}"
            return f"Số {n} đường {road}"
        if p in ("04", "08", "11", "12", "14", "15", "19", "20") and r < 0.5:
            villages = names.VILLAGE_NAMES_NORTH_HILLS
            return f"Bản {villages[int(rng.random() * len(villages))]}"
        if p in ("51", "52", "66") and r < 0.3:
            villages = names.VILLAGE_NAMES_HIGHLANDS
            return (
                f"{'Buôn' if p == '66' else 'Làng'} {villages[int(rng.random() * len(villages))]}"
            )
        hamlet = "Ấp" if p >= "75" else ("Xóm" if r > 0.8 and p <= "40" else "Thôn")
        if rng.random() < 0.5:
            return f"{hamlet} {1 + int(rng.random() * 15)}"
        return f"{hamlet} {names.HAMLET_NAMES[int(rng.random() * len(names.HAMLET_NAMES))]}"

    def place(self, province: str) -> Address:
        """A ward of the province, without a street (birth places and hometowns)."""
        return self.w.places[province].pick(self.rng)

    # -- identifiers ----------------------------------------------------------------------------

    def citizen_id(self, ward_code: str, gender: Gender, born: date) -> str:
        marker = (born.year // 100 - 19) * 2 + (gender is F)
        bucket = f"{self.w.id_code[ward_code]}{marker}{born.year % 100:02d}"
        k = self.serials.get(bucket, 0)
        if k == 0:
            self.serial_offsets[bucket] = self.rng.randrange(1_000_000)
        elif k >= 1_000_000:
            raise OverflowError(f"more than a million people born in bucket {bucket}")
        self.serials[bucket] = k + 1
        return f"{bucket}{(self.serial_offsets[bucket] + k * _SERIAL_STRIDE) % 1_000_000:06d}"

    def old_id_number(self) -> str:
        k, self.old_ids = self.old_ids, self.old_ids + 1
        return f"{(self.old_id_offset + k * _OLD_ID_STRIDE) % 10**9:09d}"

    def phone(self) -> str:
        k, self.phones = self.phones, self.phones + 1
        space = len(self.w.phone_prefixes) * 10**7
        if k >= space:
            raise OverflowError("out of distinct phone numbers")
        index = (self.phone_offset + k * _PHONE_STRIDE) % space
        return f"{self.w.phone_prefixes[index // 10**7]}{index % 10**7:07d}"

    def email(self, surname: str, middle: str, given: str, born: date) -> str:
        rng, fold = self.rng, self.w.fold_name
        r = rng.random()
        if r < 0.4:
            base = f"{fold(given)}{fold(surname)}{born.year % 100:02d}"
        elif r < 0.7:
            base = f"{fold(surname)}{fold(middle)}{fold(given)}"
        else:
            base = f"{fold(given)}.{fold(surname)}"
        seen = self.emails.get(base, 0)
        self.emails[base] = seen + 1
        suffix = str(seen) if seen else ""
        return f"{base}{suffix}@{self.w.email_domains.pick(rng)}"

    # -- people ---------------------------------------------------------------------------------

    def born_aged(self, low: float, high: float) -> date:
        """A birth date for an age (in years) uniformly in [low, high)."""
        days = int((low + self.rng.random() * (high - low)) * YEAR)
        return date.fromordinal(self.today_ord - max(days, 7))

    def person(
        self,
        home: _Home,
        gender: Gender,
        surname: str,
        born: date,
        relation: HouseholdRelationship,
        hometown: Address,
        local_birth: float = 0.8,
    ) -> Citizen:
        rng, w, today = self.rng, self.w, self.today
        if rng.random() < local_birth:
            birth = home.place if rng.random() < 0.4 else w.places[home.province].pick(rng)
        else:
            birth = w.places[w.provinces.pick(rng)].pick(rng)
        style = home.style
        new = 2 * gender + (rng.random() < min(0.9, max(0.05, (born.year - 1965) / 45)))
        middle = style.middle[new].pick(rng)
        given = style.given[new].pick(rng)
        for _ in range(4):  # no two in one family share a given name
            if given not in home.taken:
                break
            given = style.given[new].pick(rng)
        home.taken.add(given)
        if style.given_first:
            full_name = f"{given} {surname}"
        elif middle:
            full_name = f"{surname} {middle} {given}"
        else:
            full_name = f"{surname} {given}"
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        citizen_id = self.citizen_id(birth.ward_code, gender, born)
        home.surnames[citizen_id] = surname
        c = Citizen(
            citizen_id=citizen_id,
            full_name=full_name,
            date_of_birth=born,
            gender=gender,
            place_of_birth=birth,
            hometown=hometown,
            ethnicity=home.ethnicity,
            religion=home.religion,
            nationality="VN",
            blood_type=w.blood.pick(rng),
            permanent_address=home.address,
            current_address=home.address,
            household_id=home.household_id,
            relationship_to_head=relation,
            marital_status=MaritalStatus.SINGLE,
            id_card=self.id_card(born, age),
            version=1,
            updated_at=self.now,
        )
        if age >= 15:
            # Anyone 14 before 2016 held an old 9-digit identity card (CMND).
            if born.year <= 2001 and rng.random() < 0.93:
                c.old_id_number = self.old_id_number()
            if rng.random() < (0.95 if age < 65 else 0.7 if age < 80 else 0.35):
                c.phone = self.phone()
            if 18 <= age <= 60 and rng.random() < (0.55 if age < 35 else 0.3):
                c.email = self.email(surname, middle, given, born)
            if 18 <= age <= 45 and rng.random() < (0.1 if age < 35 else 0.04):
                # Migrant workers and students: temporary residence in a metropolis.
                dest = w.migration.pick(rng)
                if dest != home.province:
                    ward = w.wards[dest].pick(rng)
                    c.temporary_address = c.current_address = Address(
                        dest, ward.code, self.street(ward)
                    )
        return c

    def id_card(self, born: date, age: int) -> IdentityCard | None:
        """Issued at 14, renewed at 25, 40 and 60, valid until the next of those ages."""
        rng, today_ord = self.rng, self.today_ord
        if age < 14:
            if today_ord > _CARDS_FOR_CHILDREN and rng.random() < 0.06:
                first = max(_CARDS_FOR_CHILDREN, born.toordinal() + 1)
                if first < today_ord:
                    issued = first + int(rng.random() * (today_ord - first))
                    return _card(issued, _birthday(born, 14))
            return None
        last = 60 if age >= 60 else 40 if age >= 40 else 25 if age >= 25 else 14
        start = _birthday(born, last).toordinal()
        if start >= today_ord:  # the birthday is today: the card comes later
            if last == 14:
                return None
            last = _PREVIOUS_MILESTONE[last]
            start = _birthday(born, last).toordinal()
        issued = start + int(rng.random() * 365)
        if rng.random() < 0.75:  # most adults got a chip card in the 2021-2024 campaign
            issued = max(issued, _CHIP_CAMPAIGN[0] + int(rng.random() * 1400))
        if issued < _FIRST_CARD:  # they held a CMND until converting
            issued = _FIRST_CARD + int(rng.random() * (_CHIP_CAMPAIGN[1] - _FIRST_CARD))
        issued = max(start, min(issued, today_ord - 1))
        if last == 60:
            return _card(issued, None)  # valid for life
        following = _NEXT_MILESTONE[last]
        expiry = _birthday(born, following)
        # A card issued within two years before a renewal age stays valid until the next one.
        if issued >= expiry.toordinal() - 730:
            if following == 60:
                return _card(issued, None)
            expiry = _birthday(born, _NEXT_MILESTONE[following])
        return _card(issued, expiry)

    def age(self, c: Citizen) -> float:
        return (self.today_ord - c.date_of_birth.toordinal()) / YEAR

    # -- households -----------------------------------------------------------------------------

    def household(self) -> list[Citizen]:
        rng, w = self.rng, self.w
        self.household_no += 1
        province = w.provinces.pick(rng)
        ward = w.wards[province].pick(rng)
        ethnicity = w.ethnic[province].pick(rng)
        religion = (
            w.ethnic_religion[ethnicity].pick(rng)
            if ethnicity in w.ethnic_religion
            else w.religion[province].pick(rng)
        )
        home = _Home(
            province,
            Address(province, ward.code, ""),
            Address(province, ward.code, self.street(ward)),
            f"HK{province}{self.household_no:08d}",
            ethnicity,
            religion,
            w.styles.get(ethnicity, w.default_style),
            set(),
            {},
        )
        kind = rng.random()
        if kind < 0.12:
            members = [self.alone(home)]
        elif kind < 0.18:
            members = self.lone_parent(home)
        else:
            members = self.family(home)
        self.deaths(members)
        return members

    def hometown(self, home: _Home) -> Address:
        """Quê quán: a family's place of origin, usually where the household lives."""
        if self.rng.random() < 0.75:
            return self.place(home.province)
        return self.place(self.w.provinces.pick(self.rng))

    def alone(self, home: _Home) -> Citizen:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            gender, born = (M if rng.random() < 0.55 else F), self.born_aged(19, 35)
            status = _pick_status(rng, single=0.92, divorced=0.08)
        elif r < 0.65:
            gender, born = (M if rng.random() < 0.5 else F), self.born_aged(35, 60)
            status = _pick_status(rng, single=0.45, divorced=0.35)
        else:
            gender, born = (M if rng.random() < 0.25 else F), self.born_aged(60, 92)
            status = _pick_status(rng, single=0.1, divorced=0.05)
        c = self.person(
            home, gender, home.style.surnames.pick(rng), born, H.HEAD, self.hometown(home), 0.6
        )
        c.marital_status = status
        return c

    def lone_parent(self, home: _Home) -> list[Citizen]:
        rng = self.rng
        born = self.born_aged(26, 60)
        mother = self.person(
            home, F, home.style.surnames.pick(rng), born, H.HEAD, self.hometown(home), 0.7
        )
        mother.marital_status = _pick_status(rng, single=0.15, divorced=0.5)
        plan = [p for p in self.plan_children(born) if rng.random() < _stay_chance(p[2])]
        # The absent father's family name, or the mother's where descent runs through women.
        surname = home.style.surnames.pick(rng)
        if home.style.matrilineal:
            surname = home.surnames[mother.citizen_id]
        kids = self.children(home, plan[-6:], None, mother, surname, mother.hometown)
        return [mother, *kids]

    def family(self, home: _Home) -> list[Citizen]:
        """A couple (or its widowed survivor), their children, maybe a parent or grandchildren."""
        rng, style = self.rng, home.style
        husband_born = self.born_aged(*_HEAD_AGES.pick(rng))
        wife_born = date.fromordinal(
            min(
                husband_born.toordinal() + int(rng.random() * 3300) - 730,
                self.today_ord - int(18.5 * YEAR),
            )
        )
        age = (self.today_ord - husband_born.toordinal()) / YEAR
        family_names = (style.surnames.pick(rng), style.surnames.pick(rng))  # husband's, wife's
        hometowns = (self.hometown(home), self.hometown(home))
        # The older generation is sometimes widowed; wives outlive husbands more often.
        widowed = age >= 55 and rng.random() < 0.22
        survivor = (F if rng.random() < 0.7 else M) if widowed else None
        husband = wife = None
        if survivor is not F:
            husband = self.person(
                home, M, family_names[0], husband_born, H.HEAD, hometowns[0], 0.75
            )
        if survivor is not M:
            wife = self.person(home, F, family_names[1], wife_born, H.HEAD, hometowns[1], 0.7)
        present = [c for c in (husband, wife) if c is not None]
        if husband is not None and wife is not None:
            _marry(husband, wife)
            female_head = style.matrilineal or rng.random() < 0.2  # about a fifth of households
            head, partner = (wife, husband) if female_head else (husband, wife)
            partner.relationship_to_head = H.SPOUSE
            members = [head, partner]
        else:
            (head,) = present
            head.marital_status = MaritalStatus.WIDOWED
            members = [head]
        lineal = 1 if style.matrilineal else 0
        budget = 7 - len(members)
        if 25 <= age < 60 and rng.random() < 0.1:
            members.append(self.elderly_parent(home, head))
            budget -= 1
        plan = self.plan_children(wife_born, husband_born)
        heir = None
        if age >= 50 and rng.random() < 0.6:
            # One married child stays with spouse and children: a three-generation household.
            heir_gender = F if style.matrilineal else M
            for i in range(len(plan) - 1, -1, -1):
                if plan[i][1] is heir_gender and plan[i][2] >= 22:
                    heir = plan.pop(i)
                    break
        staying = [p for p in plan if rng.random() < _stay_chance(p[2])]
        if heir is not None:
            (child,) = self.children(
                home, [heir], husband, wife, family_names[lineal], hometowns[lineal]
            )
            members.append(child)
            members += self.in_law_family(home, child, budget - 1)
            budget = 7 - len(members)
        if budget > 0 and staying:
            members += self.children(
                home, staying[-budget:], husband, wife, family_names[lineal], hometowns[lineal]
            )
        return members

    def in_law_family(self, home: _Home, heir: Citizen, budget: int) -> list[Citizen]:
        """The heir's spouse (a child-in-law) and their children."""
        rng = self.rng
        in_law_gender = F if heir.gender is M else M
        in_law_born = date.fromordinal(
            min(
                heir.date_of_birth.toordinal()
                + int(rng.random() * 2900)
                - (1900 if in_law_gender is F else 730),
                self.today_ord - int(18.5 * YEAR),
            )
        )
        in_law = self.person(
            home,
            in_law_gender,
            home.style.surnames.pick(rng),
            in_law_born,
            H.OTHER,
            self.place(self.w.provinces.pick(rng)),
            0.6,
        )
        _marry(heir, in_law)
        father, mother = (heir, in_law) if heir.gender is M else (in_law, heir)
        plan = [
            p for p in self.plan_children(mother.date_of_birth, father.date_of_birth) if p[2] < 23
        ]
        grandkids = self.children(
            home,
            plan[: max(0, budget - 1)],
            father,
            mother,
            home.surnames[heir.citizen_id],
            heir.hometown,
            H.GRANDCHILD,
        )
        return [in_law, *grandkids]

    def plan_children(
        self, mother_born: date, father_born: date | None = None
    ) -> list[tuple[date, Gender, float]]:
        """Birth dates, genders and ages of a couple's children, born while she was 19-42."""
        rng = self.rng
        cohort = mother_born.year
        table = _CHILDREN if cohort >= 1985 else _CHILDREN_1970 if cohort >= 1970 else _CHILDREN_OLD
        wanted = table.pick(rng)
        born_ord = mother_born.toordinal()
        at = born_ord + int((19 + rng.random() * 9) * YEAR)
        if father_born is not None:
            at = max(at, father_born.toordinal() + int(20 * YEAR))
        out = []
        for _ in range(wanted):
            if at > self.today_ord - 7 or at > born_ord + 42 * YEAR:
                break
            gender = M if rng.random() < 0.52 else F
            out.append((date.fromordinal(at), gender, (self.today_ord - at) / YEAR))
            at += int((1.5 + rng.random() * 3.5) * YEAR)
        return out

    def children(
        self,
        home: _Home,
        plan: Sequence[tuple[date, Gender, float]],
        father: Citizen | None,
        mother: Citizen | None,
        surname: str,
        hometown: Address | None,
        relation: HouseholdRelationship = H.CHILD,
    ) -> list[Citizen]:
        out = []
        for born, gender, _ in plan:
            child = self.person(
                home, gender, surname, born, relation, hometown or self.hometown(home), 0.9
            )
            child.father_id = father.citizen_id if father is not None else ""
            child.mother_id = mother.citizen_id if mother is not None else ""
            out.append(child)
        return out

    def elderly_parent(self, home: _Home, head: Citizen) -> Citizen:
        rng = self.rng
        gap = 20 + rng.random() * 15
        age = min(97.0, (self.today_ord - head.date_of_birth.toordinal()) / YEAR + gap)
        is_father = rng.random() < 0.25
        surname = home.surnames[head.citizen_id]
        if is_father is home.style.matrilineal:
            surname = home.style.surnames.pick(rng)
        parent = self.person(
            home,
            M if is_father else F,
            surname,
            self.born_aged(age, age + 0.9),
            H.PARENT,
            head.hometown or self.hometown(home),
            0.8,
        )
        parent.marital_status = MaritalStatus.WIDOWED
        if is_father:
            head.father_id = parent.citizen_id
        else:
            head.mother_id = parent.citizen_id
        return parent

    def deaths(self, members: list[Citizen]) -> None:
        """A few people have died in the last five years; a surviving spouse is widowed."""
        rng, today_ord = self.rng, self.today_ord
        for c in members:
            age = self.age(c)
            chance = 0.1 if age >= 80 else 0.04 if age >= 65 else 0.003 if age >= 40 else 0.0
            if not chance or rng.random() >= chance:
                continue
            earliest = max(c.date_of_birth.toordinal(), today_ord - 5 * 365)
            if c.id_card is not None and c.id_card.issue_date is not None:
                earliest = max(earliest, c.id_card.issue_date.toordinal())
            if earliest >= today_ord - 1:
                continue
            c.date_of_death = date.fromordinal(
                earliest + 1 + int(rng.random() * (today_ord - 1 - earliest))
            )
            c.temporary_address = None
            c.current_address = c.permanent_address
            for s in members:
                if s.citizen_id == c.spouse_id and s.date_of_death is None:
                    s.marital_status = MaritalStatus.WIDOWED


# Ages (years) of husbands heading family households, by band: most are 30-65.
_HEAD_AGES = Table(
    [
        ((lo, lo + 5), w)
        for lo, w in zip(
            range(20, 95, 5),
            (0.5, 4.5, 8, 9, 10, 10, 10, 9.5, 8.5, 6.5, 4.5, 2.8, 1.6, 0.7, 0.2),
            strict=True,
        )
    ]
)
_NEXT_MILESTONE = {14: 25, 25: 40, 40: 60}
_PREVIOUS_MILESTONE = {25: 14, 40: 25, 60: 40}
# Children per mother by cohort: five or more for women born before 1970, about two since.
_CHILDREN_OLD = Table([(n, w) for n, w in enumerate((0, 4, 18, 28, 24, 16, 10))])
_CHILDREN_1970 = Table([(n, w) for n, w in enumerate((2, 12, 50, 28, 8))])
_CHILDREN = Table([(n, w) for n, w in enumerate((4, 20, 52, 20, 4))])


def _stay_chance(age: float) -> float:
    if age < 18:
        return 1.0
    if age < 23:
        return 0.75
    if age < 28:
        return 0.4
    return 0.15 if age < 35 else 0.05


def _pick_status(rng: random.Random, *, single: float, divorced: float) -> MaritalStatus:
    r = rng.random()
    if r < single:
        return MaritalStatus.SINGLE
    return MaritalStatus.DIVORCED if r < single + divorced else MaritalStatus.WIDOWED


def _marry(a: Citizen, b: Citizen) -> None:
    a.spouse_id, b.spouse_id = b.citizen_id, a.citizen_id
    a.marital_status = b.marital_status = MaritalStatus.MARRIED


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return born.replace(year=born.year + years, day=28)


_ISSUER_FROM = [date.fromisoformat(day).toordinal() for day, _ in names.ISSUERS]
_ISSUER_NAMES = [name for _, name in names.ISSUERS]


def _card(issued: int, expiry: date | None) -> IdentityCard:
    issuer = _ISSUER_NAMES[max(0, bisect_right(_ISSUER_FROM, issued) - 1)]
    return IdentityCard(date.fromordinal(issued), issuer, expiry)


def generate_citizens(seed: int, count: int, today: date = REFERENCE_DAY) -> Iterator[Citizen]:
    """Exactly `count` citizens in households; the same arguments give the same citizens.

    The stream does not depend on `count` beyond where it stops, so the first citizens of a
    large seed are those of a small one.
    """
    gen = _Generator(seed, today)
    produced = 0
    while produced < count:
        members = gen.household()
        if len(members) > count - produced:
            members = _cut(members[: count - produced])
        yield from members
        produced += len(members)


def _cut(members: list[Citizen]) -> list[Citizen]:
    """The first members of the last household, without links to those left out."""
    kept = {c.citizen_id for c in members}
    for c in members:
        if c.spouse_id and c.spouse_id not in kept:
            c.spouse_id = ""
        if c.father_id and c.father_id not in kept:
            c.father_id = ""
        if c.mother_id and c.mother_id not in kept:
            c.mother_id = ""
    return members
