"""The initial load writes exactly the generated citizens, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, select

from ndx_population.adapters.bulk_load import bulk_load, load_rows
from ndx_population.adapters.rows import row_to_citizen
from ndx_population.adapters.tables import citizens, metadata
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database, create_schema

N = 3_000


async def read_all(db: Database) -> dict[str, object]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(citizens))).mappings().all()
    return {r["citizen_id"]: row_to_citizen(r) for r in rows}


async def test_bulk_load_round_trips_every_field(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine, metadata)
        progress: list[int] = []
        written = await bulk_load(
            db.engine, generate_citizens(5, N), batch_size=1000, on_progress=progress.append
        )
        assert written == N
        assert sum(progress) == N
        expected = {c.citizen_id: c for c in generate_citizens(5, N)}
        assert await read_all(db) == expected
        # Indexes dropped for the load are back.
        async with db.engine.connect() as conn:
            names = await conn.run_sync(
                lambda c: {ix["name"] for ix in inspect(c).get_indexes("citizens")}
            )
        assert {ix.name for ix in citizens.indexes} <= names
    finally:
        await db.dispose()


async def test_rows_generated_in_a_child_process_are_the_same(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine, metadata)
        written = await load_rows(db.engine, rows_from_child(5, N, db.engine.dialect.name, 700))
        assert written == N
        assert await read_all(db) == {c.citizen_id: c for c in generate_citizens(5, N)}
    finally:
        await db.dispose()
