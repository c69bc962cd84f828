"""Registries seeded from one seed agree on who the citizens are, without talking."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Table, select

from ndx_business.adapters.tables import members, representatives
from ndx_business.seed import seed_business
from ndx_cli.exchange import seed_population
from ndx_land.adapters.tables import holders
from ndx_land.seed import seed_land
from ndx_population.adapters.tables import citizens
from ndx_runtime.db import Database

from .conftest import CITIZENS, ENTERPRISES, PARCELS, SEED, SIZES


async def people(url: str, table: Table) -> dict[str, set[str]]:
    """citizen_id -> the names a registry stores for that citizen."""
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(select(table.c.citizen_id, table.c.name))
            out: dict[str, set[str]] = {}
            for citizen_id, name in rows:
                out.setdefault(citizen_id, set()).add(name)
            return out
    finally:
        await db.dispose()


async def population_names(url: str, ids: set[str]) -> dict[str, str]:
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(
                select(citizens.c.citizen_id, citizens.c.full_name).where(
                    citizens.c.citizen_id.in_(sorted(ids))
                )
            )
            return {r[0]: r[1] for r in rows}
    finally:
        await db.dispose()


async def test_seeded_representatives_and_members_are_citizens_with_their_names(
    tmp_path: Path,
) -> None:
    population = f"sqlite+aiosqlite:///{tmp_path / 'population.db'}"
    business = f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"
    await seed_population(population, SIZES)
    assert await seed_business(business, ENTERPRISES, SEED, CITIZENS) == ENTERPRISES

    stored = await people(business, representatives)
    assert stored
    for citizen_id, names in (await people(business, members)).items():
        stored.setdefault(citizen_id, set()).update(names)
    registered = await population_names(population, set(stored))
    assert set(registered) == set(stored), "representatives who are not citizens"
    for citizen_id, names in stored.items():
        assert names == {registered[citizen_id]}, citizen_id


async def test_seeded_rights_holders_are_citizens_with_their_names(tmp_path: Path) -> None:
    population = f"sqlite+aiosqlite:///{tmp_path / 'population.db'}"
    land = f"sqlite+aiosqlite:///{tmp_path / 'land.db'}"
    await seed_population(population, SIZES)
    assert await seed_land(land, PARCELS, SEED, CITIZENS) == PARCELS

    stored = await people(land, holders)
    assert stored
    registered = await population_names(population, set(stored))
    assert set(registered) == set(stored), "rights holders who are not citizens"
    for citizen_id, names in stored.items():
        assert names == {registered[citizen_id]}, citizen_id
