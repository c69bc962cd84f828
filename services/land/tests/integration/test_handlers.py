"""Consumer reactions and seeding against both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ndx.land.v1 import events_pb2
from ndx_land.adapters.tables import outbox
from ndx_land.seed import seed_land
from ndx_land.service_layer import handlers
from ndx_land.service_layer.unit_of_work import LandUnitOfWork
from ndx_population.citizen_checks import KnownCitizens
from ndx_runtime.clock import Clock
from ndx_runtime.db import Database

from ..conftest import AN, BINH, MakeParcel

# When the citizen changed in the population registry: derived changes carry this time.
CHANGED_AT = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
DIED = date(2025, 12, 1)


class EarlierClock(Clock):
    """Registers records a month before CHANGED_AT, so that citizen change is their latest."""

    def now(self) -> datetime:
        return CHANGED_AT - timedelta(days=30)


async def in_uow(
    apply: Callable[[str, Any, datetime, LandUnitOfWork], Awaitable[int]],
    citizen_id: str,
    value: Any,
    uow: LandUnitOfWork,
) -> int:
    """Runs a consumer reaction the way the citizen-event handler does: in one transaction,
    for a citizen change made at CHANGED_AT."""
    async with uow:
        changed = await apply(citizen_id, value, CHANGED_AT, uow)
        await uow.commit()
    return changed


async def published(database: Database) -> list[events_pb2.ParcelChanged]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.value).order_by(outbox.c.id))
        return [events_pb2.ParcelChanged.FromString(r[0]) for r in rows]


async def test_a_death_marks_the_holder_on_every_parcel_once(
    uow: LandUnitOfWork, database: Database, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    await handlers.register_parcel(make_parcel(1), uow, EarlierClock(), citizens)
    await handlers.register_parcel(make_parcel(2), uow, EarlierClock(), citizens)

    assert await in_uow(handlers.apply_citizen_died, AN.citizen_id, DIED, uow) == 2
    assert await in_uow(handlers.apply_citizen_died, AN.citizen_id, DIED, uow) == 0
    assert await in_uow(handlers.apply_citizen_died, "001201000009", DIED, uow) == 0

    updates = (await published(database))[2:]
    assert len(updates) == 2
    for event in updates:
        assert event.version == 2
        assert list(event.changed_fields.paths) == ["holders"]
        # Stamped with the citizen's change, not the time it was applied, and never earlier
        # than the parcel's last change: whatever order a replay applies them in, it agrees.
        assert event.after.update_time.ToDatetime(tzinfo=UTC) == CHANGED_AT
        dead, alive = event.after.holders
        assert dead.citizen_id == AN.citizen_id and dead.deceased
        assert dead.date_of_death.year == 2025
        assert alive.citizen_id == BINH.citizen_id and not alive.deceased


async def test_a_rename_follows_the_holder(
    uow: LandUnitOfWork, database: Database, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    await handlers.register_parcel(make_parcel(), uow, Clock(), citizens)
    assert (
        await in_uow(handlers.apply_citizen_renamed, BINH.citizen_id, "Trần Thị Bình An", uow) == 1
    )
    assert (
        await in_uow(handlers.apply_citizen_renamed, BINH.citizen_id, "Trần Thị Bình An", uow) == 0
    )
    last = (await published(database))[-1]
    assert last.after.holders[1].full_name == "Trần Thị Bình An"


async def test_seed_land_loads_then_refuses_a_second_time(database_url: str) -> None:
    assert await seed_land(database_url, 40, 5, 300) == 40
    with pytest.raises(RuntimeError):
        await seed_land(database_url, 40, 5, 300)
