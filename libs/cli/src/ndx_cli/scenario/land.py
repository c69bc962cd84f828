"""Land events: transfers of land-use rights, mortgages registered and released.

New holders are living holders of the parcels loaded (the land registry's own data: a land
office knows the people on its register, by the names the population registry confirmed), a
couple together where they hold a parcel as household head and spouse.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from ndx.land.v1 import land_service_pb2 as lpb
from ndx.land.v1 import parcel_pb2
from ndx_land.adapters.proto_mapping import holder_to_proto, mortgage_to_proto
from ndx_land.domain.model import WHOLE
from ndx_land.domain.values import HolderRole, LandOrigin, Mortgage, RightsHolder
from ndx_land.seed.generator import BANKS
from ndx_runtime.proto_values import date_to_proto

from .steps import Call, Step, choose, pick, plan_one

EVENTS = (("transfer", 45.0), ("mortgage", 35.0), ("release", 20.0))
Person = tuple[str, str]  # citizen id, registered name


@dataclass
class _Parcel:
    parcel_id: str
    holders: list[parcel_pb2.RightsHolder]
    mortgages: set[str] = field(default_factory=set)  # ids of the mortgages in force
    recorded: set[str] = field(default_factory=set)  # ids of every mortgage, released too

    @property
    def all_deceased(self) -> bool:
        return all(h.deceased for h in self.holders)


def _in_force(p: parcel_pb2.Parcel) -> set[str]:
    return {m.mortgage_id for m in p.mortgages if not m.release_date.year}


def holders_of(parcels: Sequence[parcel_pb2.Parcel]) -> set[str]:
    """Every citizen named on the parcels."""
    return {h.citizen_id for p in parcels for h in p.holders}


class Land:
    def __init__(self, parcels: Sequence[parcel_pb2.Parcel], seed: str, today: date) -> None:
        self.rng = random.Random(f"land:{seed}")
        self.today = today
        self.parcels = [
            _Parcel(
                p.parcel_id, list(p.holders), _in_force(p), {m.mortgage_id for m in p.mortgages}
            )
            for p in parcels
        ]
        living = {h.citizen_id: h.full_name for p in parcels for h in p.holders if not h.deceased}
        self.people: list[Person] = sorted(living.items())
        self.couples: list[tuple[Person, Person]] = sorted(
            {
                ((a.citizen_id, a.full_name), (b.citizen_id, b.full_name))
                for p in parcels
                for a in p.holders
                for b in p.holders
                if a.role == parcel_pb2.HOLDER_ROLE_HOUSEHOLD_HEAD
                and b.role == parcel_pb2.HOLDER_ROLE_SPOUSE
                and not (a.deceased or b.deceased)
            }
        )

    def plan(self, budget: int) -> Step | None:
        return plan_one(self.rng, budget, [(getattr(self, n), w) for n, w in EVENTS])

    def _acquirers(self, parcel: _Parcel) -> tuple[RightsHolder, ...] | None:
        held = {h.citizen_id for h in parcel.holders}
        if self.couples and self.rng.random() < 0.4:
            couple = self.couples[int(self.rng.random() * len(self.couples))]
            if not {c for c, _ in couple} & held:
                (head, head_name), (spouse, spouse_name) = couple
                return (
                    RightsHolder(head, head_name, HolderRole.HOUSEHOLD_HEAD, WHOLE // 2),
                    RightsHolder(spouse, spouse_name, HolderRole.SPOUSE, WHOLE // 2),
                )
        person = pick(self.rng, self.people, lambda p: p[0] not in held)
        if person is None:
            return None
        return (RightsHolder(person[0], person[1], HolderRole.INDIVIDUAL, WHOLE),)

    def transfer(self, budget: int) -> Step | None:
        parcel = pick(self.rng, self.parcels, lambda p: not p.mortgages)
        if parcel is None:
            return None
        holders = self._acquirers(parcel)
        if holders is None:
            return None
        if any(h.deceased for h in parcel.holders):
            origin = LandOrigin.INHERITED
        else:
            origin = choose(self.rng, [(LandOrigin.TRANSFERRED, 0.8), (LandOrigin.DONATED, 0.2)])
        parcel.holders = [holder_to_proto(h) for h in holders]
        request = lpb.TransferRightsRequest(
            parcel_id=parcel.parcel_id,
            holders=parcel.holders,
            origin=parcel_pb2.LandOrigin.ValueType(int(origin)),
        )
        return Step("transfer", [Call("land", "TransferRights", parcel.parcel_id, request)])

    def mortgage(self, budget: int) -> Step | None:
        parcel = pick(self.rng, self.parcels, lambda p: not p.mortgages and not p.all_deceased)
        if parcel is None:
            return None
        mortgage_id = f"TC-{self.rng.randint(1, 9_999_999):07d}"
        if mortgage_id in parcel.recorded:
            return None
        parcel.recorded.add(mortgage_id)
        mortgage = Mortgage(mortgage_id, self.rng.choice(BANKS), self.today)
        parcel.mortgages.add(mortgage_id)
        request = lpb.RegisterMortgageRequest(
            parcel_id=parcel.parcel_id, mortgage=mortgage_to_proto(mortgage)
        )
        return Step("mortgage", [Call("land", "RegisterMortgage", parcel.parcel_id, request)])

    def release(self, budget: int) -> Step | None:
        parcel = pick(self.rng, self.parcels, lambda p: bool(p.mortgages))
        if parcel is None:
            return None
        mortgage_id = min(parcel.mortgages)
        parcel.mortgages.discard(mortgage_id)
        request = lpb.ReleaseMortgageRequest(parcel_id=parcel.parcel_id, mortgage_id=mortgage_id)
        date_to_proto(self.today, request.release_date)
        return Step("release", [Call("land", "ReleaseMortgage", parcel.parcel_id, request)])
