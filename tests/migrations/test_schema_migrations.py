"""Every service's migrations build exactly its tables, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from ndx_gateway.migrations import MIGRATIONS as GATEWAY
from sqlalchemy import Column, Integer, MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from ndx_business.migrations import MIGRATIONS as BUSINESS
from ndx_land.migrations import MIGRATIONS as LAND
from ndx_population.migrations import MIGRATIONS as POPULATION
from ndx_runtime.db import create_engine, create_schema
from ndx_runtime.migrations import VERSION_TABLE, Migrations, SchemaError

SERVICES = {"population": POPULATION, "land": LAND, "business": BUSINESS, "gateway": GATEWAY}


@pytest.fixture(params=sorted(SERVICES))
def migrations(request: pytest.FixtureRequest) -> Migrations:
    return SERVICES[request.param]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_from_empty_to_head_the_schema_is_the_models(
    migrations: Migrations, engine: AsyncEngine
) -> None:
    before = await migrations.state(engine)
    assert before.current == () and not before.usable

    after = await migrations.upgrade(engine)

    assert after.at_head and after.current == tuple(migrations.scripts.get_heads())
    assert await tables(engine) == {*migrations.metadata.tables, VERSION_TABLE}
    # Autogenerate finds nothing to do: a model changed without a migration fails here.
    assert await migrations.differences(engine) == []
    # Upgrading a database at head changes nothing.
    assert (await migrations.upgrade(engine)).current == after.current


async def test_a_model_change_without_a_migration_is_a_difference(
    migrations: Migrations, engine: AsyncEngine
) -> None:
    await migrations.upgrade(engine)
    changed = MetaData()
    for table in migrations.metadata.tables.values():
        table.to_metadata(changed)
    first = sorted(changed.tables)[0]
    changed.tables[first].append_column(Column("added_later", Integer, nullable=True))

    diff = await dataclasses.replace(migrations, metadata=changed).differences(engine)

    assert [d[:2] for d in diff] == [("add_column", None)]


async def test_downgrade_to_base_and_upgrade_again(
    migrations: Migrations, engine: AsyncEngine
) -> None:
    await migrations.upgrade(engine)

    base = await migrations.downgrade(engine, "base")

    assert base.current == ()
    assert await tables(engine) == {VERSION_TABLE}
    again = await migrations.upgrade(engine)
    assert again.at_head
    assert await migrations.differences(engine) == []


async def test_a_schema_made_by_create_all_is_adopted(
    migrations: Migrations, engine: AsyncEngine
) -> None:
    await create_schema(engine, migrations.metadata)
    assert not (await migrations.state(engine)).usable

    state = await migrations.upgrade(engine)

    assert state.at_head
    assert await migrations.differences(engine) == []


async def test_a_partial_schema_without_version_table_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE citizens (citizen_id VARCHAR(12) PRIMARY KEY)")

    with pytest.raises(SchemaError, match="but not outbox"):
        await POPULATION.upgrade(engine)

    assert await tables(engine) == {"citizens"}


async def test_a_schema_migrated_by_a_newer_release_is_usable(engine: AsyncEngine) -> None:
    await POPULATION.upgrade(engine)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dcafe'")

    state = await POPULATION.upgrade(engine)  # leaves it alone

    assert state.ahead and state.usable and not state.at_head
    assert state.current == ("f00dcafe",)
