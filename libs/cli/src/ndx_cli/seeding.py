"""`ndx seed`: bulk loads of deterministic synthetic data, with a progress bar."""

from __future__ import annotations

import asyncio
import json
from itertools import islice
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from ndx_population.adapters.bulk_load import load_rows
from ndx_population.adapters.tables import citizens as citizens_table
from ndx_population.adapters.tables import metadata
from ndx_population.config import PopulationSettings
from ndx_population.domain.model import Citizen
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database, create_schema


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
        await create_schema(db.engine, metadata)
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
