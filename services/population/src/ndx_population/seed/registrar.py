"""People and places for registrations after the seed: newborns, new names, new homes.

They come from the seed's own tables and id scheme, so a scenario's births look like the
seeded population and their ids never repeat within one registrar. Deterministic for
(seed, today, the order of calls).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TypeVar

from ..domain.model import Citizen
from ..domain.values import Address, Gender, HouseholdRelationship, MaritalStatus
from .generator import Table, _Generator, _Home, _Style, _world

T = TypeVar("T")
H = HouseholdRelationship
# Households opened after the seed are numbered from here, above any seed's households.
_FIRST_NEW_HOUSEHOLD = 90_000_000
# The relationship of a newborn to the head of the household, from the mother's.
_CHILD_OF = {H.HEAD: H.CHILD, H.SPOUSE: H.CHILD, H.CHILD: H.GRANDCHILD, H.OTHER: H.GRANDCHILD}


class Registrar:
    """Draws new people, names and homes from the seed's tables."""

    def __init__(self, seed: int | str, today: date) -> None:
        self._gen = _Generator(0, today)
        self._gen.rng.seed(f"registrar:{seed}")
        self.rng = self._gen.rng
        self._households = _FIRST_NEW_HOUSEHOLD + self.rng.randrange(9_000_000)

    def _style(self, c: Citizen) -> _Style:
        w = _world()
        return w.styles.get(c.ethnicity, w.default_style)

    def family_name(self, c: Citizen) -> str:
        """The family name in a registered full name: the longest run of leading words (trailing,
        where the given name comes first) that the person's naming style knows as one."""
        style = self._style(c)
        words = c.full_name.split()
        known = set(style.surnames.items)
        runs = [
            words[-n:] if style.given_first else words[:n] for n in range(len(words) - 1, 0, -1)
        ]
        for run in runs:
            if " ".join(run) in known:
                return " ".join(run)
        return words[-1] if style.given_first else words[0]

    def given_names(self, c: Citizen, surname: str, born: date) -> str:
        """A full name with new middle and given names under the same family name."""
        style = self._style(c)
        new = 2 * c.gender + (self.rng.random() < min(0.9, max(0.05, (born.year - 1965) / 45)))
        middle, given = style.middle[new].pick(self.rng), style.given[new].pick(self.rng)
        if style.given_first:
            return f"{given} {surname}"
        return f"{surname} {middle} {given}" if middle else f"{surname} {given}"

    def new_name(self, c: Citizen) -> str:
        """Another full name for `c` (a change of middle and given names), never the same."""
        surname = self.family_name(c)
        name = c.full_name
        for _ in range(16):  # the tables hold dozens of names: a repeat is rare
            name = self.given_names(c, surname, c.date_of_birth)
            if name != c.full_name:
                break
        return name

    def newborn(self, mother: Citizen, father: Citizen | None, born: date) -> Citizen:
        """A child born on `born` to `mother` (and `father`), registered in her household with
        her addresses, named after the father's family (the mother's where descent runs through
        women, or without a father), a citizen id of the ward where the birth is registered."""
        home_address = mother.permanent_address or mother.current_address
        assert home_address is not None, "a mother without an address"
        style = self._style(mother)
        lineal = mother if style.matrilineal or father is None else father
        home = _Home(
            home_address.province_code,
            Address(home_address.province_code, home_address.ward_code, ""),
            home_address,
            mother.household_id,
            mother.ethnicity,
            mother.religion,
            style,
            set(),
            {},
        )
        gender = Gender.MALE if self.rng.random() < 0.52 else Gender.FEMALE
        hometown = lineal.hometown or mother.hometown or home.place
        child = self._gen.person(
            home,
            gender,
            self.family_name(lineal),
            born,
            _CHILD_OF.get(mother.relationship_to_head, H.OTHER),
            hometown,
            0.9,
        )
        return replace(
            child,
            father_id=father.citizen_id if father is not None else "",
            mother_id=mother.citizen_id,
            current_address=mother.current_address or home_address,
            marital_status=MaritalStatus.SINGLE,
            version=0,
            updated_at=None,
        )

    def destination(self, province: str) -> str:
        """Where someone living in `province` moves: mostly within it, else where migrants go."""
        if self.rng.random() < 0.7:
            return province
        return _world().migration.pick(self.rng)

    def new_home(self, province: str) -> Address:
        """A street address in a ward of `province`, urban wards more likely."""
        ward = _world().wards[province].pick(self.rng)
        return Address(province, ward.code, self._gen.street(ward))

    def household_id(self, province: str) -> str:
        """The id of a household opened now (one the seed never uses)."""
        self._households += 1
        return f"HK{province}{self._households:08d}"


def populous_wards() -> list[str]:
    """Every ward code, the most populous first as the seed spreads households (provinces by
    population, urban wards denser than rural communes); ties by code."""
    w = _world()
    share: dict[str, float] = {}
    for province, weight in zip(w.provinces.items, _weights(w.provinces), strict=True):
        table = w.wards[province]
        for ward, ward_weight in zip(table.items, _weights(table), strict=True):
            share[ward.code] = weight / w.provinces.total * ward_weight / table.total
    return sorted(share, key=lambda code: (-share[code], code))


def _weights(table: Table[T]) -> list[float]:
    return [b - a for a, b in zip([0.0, *table.cum], table.cum, strict=False)]
