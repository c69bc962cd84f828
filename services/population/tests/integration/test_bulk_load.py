"""The initial load writes exactly the generated citizens, on SQLite and PostgreSQL."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from ndx_population.adapters.bulk_load import bulk_load, create_schema, load_rows
from ndx_population.adapters.rows import row_to_citizen
from ndx_population.adapters.tables import citizens
from ndx_population.domain.model import Citizen
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database

N = 5_000


async def read_all(db: Database) -> dict[str, Citizen]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(citizens))).mappings().all()
    return {r["citizen_id"]: row_to_citizen(r) for r in rows}


async def index_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {str(ix["name"]) for ix in inspect(c).get_indexes("citizens")}
        )


async def count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(citizens))).scalar_one())


async def test_bulk_load_round_trips_every_field(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine)
        progress: list[int] = []
        written = await bulk_load(
            db.engine, generate_citizens(5, N), batch_size=1000, on_progress=progress.append
        )
        assert written == N
        assert progress == [1000] * 5
        assert await read_all(db) == {c.citizen_id: c for c in generate_citizens(5, N)}
        # Indexes dropped for the load are back.
        assert {str(ix.name) for ix in citizens.indexes} <= await index_names(db)
    finally:
        await db.dispose()


async def test_a_second_load_appends_and_keeps_the_indexes(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine)
        people = list(generate_citizens(8, 2 * 1000))
        assert await bulk_load(db.engine, people[:1000], batch_size=300) == 1000
        assert await bulk_load(db.engine, people[1000:], batch_size=300) == 1000
        assert await read_all(db) == {c.citizen_id: c for c in people}
        assert {str(ix.name) for ix in citizens.indexes} <= await index_names(db)
    finally:
        await db.dispose()


async def test_a_failed_load_writes_nothing(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine)
        people = list(generate_citizens(9, 1500))
        # Into an empty table (indexes dropped for the load): a repeated id in the last batch.
        with pytest.raises(IntegrityError):
            await bulk_load(db.engine, [*people[:1000], people[0]], batch_size=400)
        assert await count(db) == 0
        assert {str(ix.name) for ix in citizens.indexes} <= await index_names(db)
        # Into a table that has rows.
        await bulk_load(db.engine, people[:500])
        with pytest.raises(IntegrityError):
            await bulk_load(db.engine, [*people[500:], people[499]], batch_size=400)
        assert await count(db) == 500
    finally:
        await db.dispose()


async def test_sqlite_pragmas_are_put_back(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/registry.db", pool_size=1)
    try:
        await create_schema(db.engine)
        await bulk_load(db.engine, islice(generate_citizens(2, 100), 100))
        async with db.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("synchronous", "cache_size", "temp_store", "journal_mode")
            }
        # As ndx_runtime.db sets them on connect (NORMAL = 1), and SQLite's defaults.
        assert pragmas == {
            "synchronous": 1,
            "cache_size": -2000,
            "temp_store": 0,
            "journal_mode": "wal",
        }
    finally:
        await db.dispose()


async def test_rows_generated_in_a_child_process_are_the_same(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await create_schema(db.engine)
        written = await load_rows(db.engine, rows_from_child(5, N, db.engine.dialect.name, 700))
        assert written == N
        assert await read_all(db) == {c.citizen_id: c for c in generate_citizens(5, N)}
    finally:
        await db.dispose()
