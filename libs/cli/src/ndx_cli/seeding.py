"""`ndx seed`: bulk loads of deterministic synthetic data, with a progress bar."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from itertools import islice
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Table, func, inspect, select

from ndx_population.adapters.bulk_load import create_schema, load_rows
from ndx_population.adapters.tables import citizens as citizens_table
from ndx_population.config import PopulationSettings
from ndx_population.domain.model import Citizen
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


async def seed_population(
    count: int,
    seed: int,
    database_url: str | None,
    *,
    if_empty: bool = False,
    manifest: Path | None = None,
) -> int:
    """Loads `count` citizens; returns how many rows were written.

    The manifest records the seed and count (other registries' seeds derive from them) and a
    few sample citizens to try calls with.
    """
    db = Database.from_url(database_url or PopulationSettings().database_url)
    try:
        await create_schema(db.engine)
        async with db.engine.connect() as conn:
            existing = (
                await conn.execute(select(func.count()).select_from(citizens_table))
            ).scalar()
        if existing and if_empty:
            print(f"population registry already holds {existing:,} citizens; not seeding")
            return 0
        if existing:
            raise SystemExit(
                f"population registry already holds {existing:,} citizens; seed an empty database"
            )
        with _progress() as progress:
            task = progress.add_task("citizens", total=count)
            written = await load_rows(
                db.engine,
                rows_from_child(seed, count, db.engine.dialect.name),
                on_progress=lambda n: progress.update(task, advance=n),
            )
        # The stream's first citizens do not depend on the count: regenerate a few to show.
        samples = list(islice(generate_citizens(seed, count), 20))
        print(f"seeded {written:,} citizens (seed {seed})")
        if manifest is not None:
            text = json.dumps(_manifest(seed, count, samples), ensure_ascii=False, indent=2)
            await asyncio.to_thread(manifest.write_text, text)
        return written
    finally:
        await db.dispose()


def _manifest(seed: int, count: int, samples: list[Citizen]) -> dict[str, object]:
    living = [c for c in samples if c.date_of_death is None and c.permanent_address is not None]
    return {
        "population": {"seed": seed, "citizens": count},
        "samples": [
            {
                "citizen_id": c.citizen_id,
                "full_name": c.full_name,
                "date_of_birth": c.date_of_birth.isoformat(),
                "household_id": c.household_id,
                "ward_code": c.permanent_address.ward_code if c.permanent_address else "",
            }
            for c in living[:5]
        ],
    }


def population_seed(manifest: Path) -> tuple[int, int]:
    """The seed and citizen count the population registry was seeded with."""
    if not manifest.exists():
        raise SystemExit(
            f"{manifest} not found: seed the population registry first (ndx seed population)"
        )
    population = json.loads(manifest.read_text())["population"]
    return int(population["seed"]), int(population["citizens"])


async def _rows(database_url: str, table: Table) -> int:
    """Rows in `table` (0 when the database or the table does not exist yet)."""
    db = Database.from_url(database_url)
    try:
        async with db.engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table(table.name)):
                return 0
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    finally:
        await db.dispose()


async def _seed_mirror(
    what: str,
    count: int,
    database_url: str,
    manifest: Path,
    table: Table,
    run: Callable[[str, int, int, int], Awaitable[int]],
    if_empty: bool,
) -> int:
    existing = await _rows(database_url, table)
    if existing:
        message = f"{database_url} already holds {existing:,} {what}"
        if if_empty:
            print(f"{message}; not seeding")
            return 0
        raise SystemExit(f"{message}; seed an empty database")
    seed, citizens = population_seed(manifest)
    written = await run(database_url, count, seed, citizens)
    print(f"seeded {written:,} {what} (seed {seed}, holders among {citizens:,} citizens)")
    return written


async def seed_land(
    parcels: int, database_url: str | None, manifest: Path, *, if_empty: bool = False
) -> int:
    """Parcels whose rights holders are citizens of the seeded population registry."""
    from ndx_land.adapters.tables import parcels as table
    from ndx_land.config import LandSettings
    from ndx_land.seed import seed_land as run

    url = database_url or LandSettings().database_url
    written = await _seed_mirror("parcels", parcels, url, manifest, table, run, if_empty)
    if written:
        await asyncio.to_thread(_note_land_samples, manifest, parcels)
    return written


def _note_land_samples(manifest: Path, parcels: int) -> None:
    """Adds a few parcels and their first holders to the manifest, to try calls with."""
    from ndx_land.seed import generate_parcels

    seed, citizens = population_seed(manifest)
    data = json.loads(manifest.read_text())
    # The stream's first parcels do not depend on the count.
    data["land"] = {
        "parcels": parcels,
        "samples": [
            {
                "parcel_id": p.parcel_id,
                "citizen_id": p.holders[0].citizen_id,
                "full_name": p.holders[0].full_name,
            }
            for p in islice(generate_parcels(seed, min(parcels, 5), citizens), 5)
        ],
    }
    manifest.write_text(json.dumps(data, ensure_ascii=False, indent=2))


async def seed_business(
    enterprises: int, database_url: str | None, manifest: Path, *, if_empty: bool = False
) -> int:
    """Enterprises whose representatives are citizens of the seeded population registry."""
    from ndx_business.adapters.tables import enterprises as table
    from ndx_business.config import BusinessSettings
    from ndx_business.seed import seed_business as run

    url = database_url or BusinessSettings().database_url
    return await _seed_mirror("enterprises", enterprises, url, manifest, table, run, if_empty)
