"""Life events on the population registry: births, marriages, moves, name changes, deaths.

The planner keeps the citizens it loaded and the ones it registered, and changes them as each
event is planned, so later events agree with earlier ones: the dead neither marry nor die
again, mothers are alive, both spouses are free to marry, a surviving spouse is widowed.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date

from google.protobuf.field_mask_pb2 import FieldMask

from ndx.population.v1 import population_service_pb2 as ppb
from ndx_population.adapters.proto_mapping import citizen_to_proto
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import Gender, HouseholdRelationship, MaritalStatus
from ndx_population.seed.registrar import Registrar
from ndx_runtime.proto_values import date_to_proto

from .steps import Call, Step, pick, plan_one

H = HouseholdRelationship
MARRIED = MaritalStatus.MARRIED
YEAR = 365.2425

# Relative frequencies, after Vietnam's yearly figures (about 1.45 million births, 2 million
# changes of permanent residence, 0.5 million marriages, 0.6 million deaths); name changes are
# rarer than shown, and raised so that short runs include some.
EVENTS = (("birth", 30.0), ("move", 35.0), ("marriage", 12.0), ("death", 15.0), ("rename", 8.0))


def _death_chance(age: float) -> float:
    return 1.0 if age >= 80 else 0.4 if age >= 65 else 0.08 if age >= 40 else 0.01


class Life:
    def __init__(
        self,
        people: Sequence[Citizen],
        seed: str,
        today: date,
        protected: Collection[str] = (),
    ) -> None:
        """`protected` citizens are neither renamed nor die here: another registry's part of
        the scenario writes the records that name them."""
        self.rng = random.Random(f"life:{seed}")
        self.registrar = Registrar(seed, today)
        self.today = today
        self.people = [replace(c) for c in people]
        self.by_id = {c.citizen_id: c for c in self.people}
        self.protected = frozenset(protected)

    def plan(self, budget: int) -> Step | None:
        return plan_one(self.rng, budget, [(getattr(self, n), w) for n, w in EVENTS])

    # -- model --------------------------------------------------------------------------------

    def age(self, c: Citizen) -> float:
        return (self.today - c.date_of_birth).days / YEAR

    def living(self, c: Citizen) -> bool:
        return c.date_of_death is None

    def spouse(self, c: Citizen) -> Citizen | None:
        """The living spouse on file among the citizens the scenario knows."""
        s = self.by_id.get(c.spouse_id) if c.marital_status is MARRIED else None
        return s if s is not None and self.living(s) else None

    def _update(self, c: Citizen, **changes: object) -> Call:
        """An UpdateCitizen of the named fields to the given values, applied to the model."""
        for name, value in changes.items():
            setattr(c, name, value)
        request = ppb.UpdateCitizenRequest(
            citizen=citizen_to_proto(c), update_mask=FieldMask(paths=list(changes))
        )
        return Call("population", "UpdateCitizen", c.citizen_id, request)

    # -- events -------------------------------------------------------------------------------

    def birth(self, budget: int) -> Step | None:
        def mother(c: Citizen) -> bool:
            if not (c.gender is Gender.FEMALE and self.living(c) and 18 <= self.age(c) <= 45):
                return False
            if c.permanent_address is None:
                return False
            if c.marital_status is MARRIED:
                return self.spouse(c) is not None  # the father's family name is needed
            return self.rng.random() < 0.1  # most children are born to married couples

        found = pick(self.rng, self.people, mother)
        if found is None:
            return None
        child = self.registrar.newborn(found, self.spouse(found), self.today)
        self.people.append(child)
        self.by_id[child.citizen_id] = child
        request = ppb.RegisterCitizenRequest(citizen=citizen_to_proto(child))
        call = Call("population", "RegisterCitizen", child.citizen_id, request, versioned=False)
        return Step("birth", [call])

    def move(self, budget: int) -> Step | None:
        """A grown-up child or lodger, not married, moves out and heads a household of their own."""

        def mover(c: Citizen) -> bool:
            return (
                self.living(c)
                and self.age(c) >= 18
                and c.relationship_to_head is not H.HEAD
                and c.marital_status is not MARRIED
                and c.permanent_address is not None
            )

        found = pick(self.rng, self.people, mover)
        if found is None or found.permanent_address is None:
            return None
        province = self.registrar.destination(found.permanent_address.province_code)
        home = self.registrar.new_home(province)
        changes: dict[str, object] = {
            "permanent_address": home,
            "current_address": home,
            "household_id": self.registrar.household_id(province),
            "relationship_to_head": H.HEAD,
        }
        if found.temporary_address is not None:
            changes["temporary_address"] = None  # the temporary residence ends with the move
        return Step("move", [self._update(found, **changes)])

    def marriage(self, budget: int) -> Step | None:
        if budget < 2:
            return None

        def free(c: Citizen, gender: Gender, low: float, high: float) -> bool:
            return (
                c.gender is gender
                and self.living(c)
                and c.marital_status is not MARRIED
                and low <= self.age(c) <= high
            )

        # Law on Marriage and Family 2014, art. 8: men from 20, women from 18.
        groom = pick(self.rng, self.people, lambda c: free(c, Gender.MALE, 20, 55))
        if groom is None:
            return None
        age = self.age(groom)

        def bride(c: Citizen) -> bool:
            return (
                free(c, Gender.FEMALE, max(18, age - 12), age + 5)
                and c.household_id != groom.household_id
                and groom.citizen_id not in (c.father_id, c.mother_id)
                and c.citizen_id not in (groom.father_id, groom.mother_id)
            )

        wife = pick(self.rng, self.people, bride)
        if wife is None:
            return None
        calls = [self._update(groom, spouse_id=wife.citizen_id, marital_status=MARRIED)]
        joins: dict[str, object] = {}
        if wife.relationship_to_head is not H.HEAD and groom.permanent_address is not None:
            # She joins his household: as the head's wife, or as a daughter-in-law.
            joins = {
                "household_id": groom.household_id,
                "relationship_to_head": H.SPOUSE
                if groom.relationship_to_head is H.HEAD
                else H.OTHER,
                "permanent_address": groom.permanent_address,
                "current_address": groom.current_address or groom.permanent_address,
            }
        calls.append(
            self._update(wife, spouse_id=groom.citizen_id, marital_status=MARRIED, **joins)
        )
        return Step("marriage", calls)

    def death(self, budget: int) -> Step | None:
        def dies(c: Citizen) -> bool:
            if not self.living(c) or c.citizen_id in self.protected:
                return False
            if budget < 2 and self.spouse(c) is not None:
                return False  # no room left to record the widowhood
            return self.rng.random() < _death_chance(self.age(c))

        found = pick(self.rng, self.people, dies)
        if found is None:
            return None
        survivor = self.spouse(found)
        found.date_of_death = self.today
        request = ppb.RecordDeathRequest(citizen_id=found.citizen_id)
        date_to_proto(self.today, request.date_of_death)
        calls = [Call("population", "RecordDeath", found.citizen_id, request)]
        if survivor is not None:
            calls.append(self._update(survivor, marital_status=MaritalStatus.WIDOWED))
        return Step("death", calls)

    def rename(self, budget: int) -> Step | None:
        def renamed(c: Citizen) -> bool:
            return self.living(c) and c.citizen_id not in self.protected and self.age(c) >= 1

        found = pick(self.rng, self.people, renamed)
        if found is None:
            return None
        name = self.registrar.new_name(found)
        others = (*found.other_names, found.full_name)
        return Step("rename", [self._update(found, full_name=name, other_names=others)])
