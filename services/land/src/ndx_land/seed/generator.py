"""Sample parcels: real wards, Circular 08/2024 land types, holders from the population seed.

Holders are living adults of `generate_citizens(seed, citizens)` with their registered names: a
household head alone, or with their spouse as co-holder; the parcel lies in the holder's
permanent-address ward. The same arguments give the same parcels.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ndx_population.domain.model import Citizen
from ndx_population.domain.values import HouseholdRelationship
from ndx_population.seed.generator import REFERENCE_DAY, generate_citizens
from ndx_refdata import gazetteer
from ndx_runtime.db import create_engine

from ..adapters.rows import child_rows, parcel_to_row
from ..adapters.tables import holders, land_uses, mortgages, parcels
from ..domain.model import WHOLE, Parcel, parcel_id
from ..domain.values import (
    Address,
    Certificate,
    FormOfUse,
    HolderRole,
    LandOrigin,
    LandUse,
    Mortgage,
    RightsHolder,
)
from ..migrations import MIGRATIONS

# Mortgagees: credit institutions, by their enterprise tax codes.
BANKS = (
    "0100112437",  # Vietcombank
    "0100150619",  # BIDV
    "0100111948",  # VietinBank
    "0100686174",  # Agribank
    "0100230800",  # Techcombank
    "0100283873",  # MB
    "0301452948",  # ACB
    "0301103908",  # Sacombank
    "0100233583",  # VPBank
)

# (land uses, origin, long term, area range m², weight)
_KINDS = (
    (("RES",), LandOrigin.RECOGNISED, True, (60, 400), 0.34),
    (("RES", "CLN"), LandOrigin.ALLOCATED_WITH_LEVY, True, (200, 1200), 0.14),
    (("RES",), LandOrigin.TRANSFERRED, True, (40, 250), 0.14),
    (("LUC",), LandOrigin.ALLOCATED_WITHOUT_LEVY, False, (300, 5000), 0.14),
    (("BHK",), LandOrigin.ALLOCATED_WITHOUT_LEVY, False, (300, 4000), 0.06),
    (("CLN",), LandOrigin.ALLOCATED_WITHOUT_LEVY, False, (500, 8000), 0.08),
    (("NTS",), LandOrigin.LEASED_ANNUAL_PAYMENT, False, (1000, 20000), 0.04),
    (("RSX",), LandOrigin.ALLOCATED_WITHOUT_LEVY, False, (5000, 50000), 0.03),
    (("RES",), LandOrigin.INHERITED, True, (60, 300), 0.03),
)


def _holders_of(
    rng: random.Random, people: list[Citizen], by_id: dict[str, Citizen]
) -> list[Citizen]:
    """A household head (with their living spouse half the time) or any adult alone."""
    person = rng.choice(people)
    spouse = by_id.get(person.spouse_id)
    together = (
        person.relationship_to_head == HouseholdRelationship.HEAD
        and spouse is not None
        and spouse.household_id == person.household_id
        and rng.random() < 0.5
    )
    return [person, spouse] if together and spouse is not None else [person]


def _rights(owners: list[Citizen]) -> tuple[RightsHolder, ...]:
    if len(owners) == 1:
        return (
            RightsHolder(owners[0].citizen_id, owners[0].full_name, HolderRole.INDIVIDUAL, WHOLE),
        )
    head, spouse = owners
    return (
        RightsHolder(head.citizen_id, head.full_name, HolderRole.HOUSEHOLD_HEAD, WHOLE // 2),
        RightsHolder(spouse.citizen_id, spouse.full_name, HolderRole.SPOUSE, WHOLE // 2),
    )


def generate_parcels(seed: int, parcels: int, citizens: int) -> Iterator[Parcel]:
    adult_born = REFERENCE_DAY - timedelta(days=18 * 365 + 5)
    everyone = list(generate_citizens(seed, citizens))
    by_id = {c.citizen_id: c for c in everyone if c.date_of_death is None}
    people = [c for c in by_id.values() if c.date_of_birth <= adult_born]
    if not people:
        raise ValueError(f"no living adult among {citizens} citizens to hold land")
    # A separate stream, so the parcels do not shift when the citizen generator changes.
    rng = random.Random(f"land:{seed}")
    wards = [w for p in gazetteer().provinces for w in p.wards]
    taken: set[str] = set()
    now = datetime.combine(REFERENCE_DAY, datetime.min.time(), tzinfo=UTC)
    weights = [k[-1] for k in _KINDS]
    for n in range(parcels):
        owners = _holders_of(rng, people, by_id)
        home = owners[0].permanent_address
        ward = gazetteer().ward(home.ward_code) if home else None
        ward = ward or rng.choice(wards)
        while True:
            sheet, number = rng.randint(1, 80), rng.randint(1, 2500)
            key = parcel_id(ward.code, sheet, number)
            if key not in taken:
                taken.add(key)
                break
        codes, origin, long_term, (low, high), _ = rng.choices(_KINDS, weights)[0]
        residential = "ODT" if ward.kind.startswith("Phường") else "ONT"
        area = rng.randint(low * 10, high * 10)
        uses = _split(rng, [residential if c == "RES" else c for c in codes], area)
        issued = REFERENCE_DAY - timedelta(days=rng.randint(30, 25 * 365))
        yield Parcel(
            parcel_id=key,
            map_sheet_number=sheet,
            parcel_number=number,
            address=Address(ward.province_code, ward.code, f"Thửa {number}, tờ {sheet}"),
            area_tenths=area,
            land_uses=uses,
            form_of_use=FormOfUse.SHARED if len(owners) > 1 else FormOfUse.PRIVATE,
            long_term=long_term,
            term_end_date=None if long_term else _term_end(rng, issued),
            origin=origin,
            certificate=Certificate(
                f"{_letters(rng)} {rng.randint(0, 99_999_999):08d}",
                f"CS{n + 1:06d}",
                issued,
            ),
            holders=_rights(owners),
            mortgages=_mortgages(rng, issued),
            version=1,
            updated_at=now,
        )


def _split(rng: random.Random, codes: list[str], area: int) -> tuple[LandUse, ...]:
    if len(codes) == 1:
        return (LandUse(codes[0], area),)
    first = max(1, min(area - 1, rng.randint(area // 5, area // 2)))
    return (LandUse(codes[0], first), LandUse(codes[1], area - first))


def _term_end(rng: random.Random, issued: date) -> date:
    # Agricultural land allocated to individuals: 50 years (Land Law 2024, art. 172).
    return (
        issued.replace(year=issued.year + 50)
        if issued.month != 2 or issued.day != 29
        else (issued + timedelta(days=50 * 365))
    )


def _letters(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEGHK") for _ in range(2))


def _mortgages(rng: random.Random, issued: date) -> tuple[Mortgage, ...]:
    found: list[Mortgage] = []
    if rng.random() < 0.25:
        registered = issued + timedelta(days=rng.randint(1, max(2, (REFERENCE_DAY - issued).days)))
        registered = min(registered, REFERENCE_DAY)
        released = None
        if rng.random() < 0.4 and registered < REFERENCE_DAY:
            released = min(REFERENCE_DAY, registered + timedelta(days=rng.randint(180, 2000)))
        found.append(
            Mortgage(f"TC-{rng.randint(1, 9_999_999):07d}", rng.choice(BANKS), registered, released)
        )
    return tuple(found)


async def load_parcels(engine: AsyncEngine, generated: Iterable[Parcel]) -> int:
    """Inserts the parcels as they are (no events: a seed is the initial state)."""
    rows: list[dict[str, object]] = []
    children: dict[str, list[dict[str, object]]] = {"land_uses": [], "holders": [], "mortgages": []}
    for p in generated:
        rows.append(parcel_to_row(p))
        for name, items in child_rows(p).items():
            children[name].extend(items)
    async with engine.begin() as conn:
        if rows:
            await conn.execute(insert(parcels), rows)
            for table in (land_uses, holders, mortgages):
                if children[table.name]:
                    await conn.execute(insert(table), children[table.name])
    return len(rows)


async def seed_land(database_url: str, parcels_: int, seed: int, citizens: int) -> int:
    """Migrates the schema and loads sample parcels; refuses a database that has some."""
    engine = create_engine(database_url)
    try:
        await MIGRATIONS.upgrade(engine)
        async with engine.begin() as conn:
            existing = await conn.execute(select(func.count()).select_from(parcels))
            if existing.scalar_one():
                raise RuntimeError(f"{database_url} already holds parcels; seed an empty one")
        return await load_parcels(engine, generate_parcels(seed, parcels_, citizens))
    finally:
        await engine.dispose()
