"""Recorded events replayed into fresh consumers give the same state: a scenario of life events
runs against the exchange, the population topic is recorded, and the recording is replayed
into land and business registries with fresh databases and new consumer groups. Their state
digests equal the originals', and replaying the same file again changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ndx_business.adapters.tables import metadata as business_tables
from ndx_business.bootstrap import start as start_business
from ndx_business.seed import seed_business
from ndx_cli.consumer_groups import group_status
from ndx_cli.events_record import record
from ndx_cli.events_replay import replay
from ndx_cli.scenario import exchange_targets, run_scenario
from ndx_land.adapters.tables import metadata as land_tables
from ndx_land.bootstrap import start as start_land
from ndx_land.seed import seed_land
from ndx_population.adapters.tables import outbox
from ndx_runtime.digest import state_digest
from ndx_runtime.service import RunningService

from .conftest import SIZES, Exchange

LIFE_EVENTS = 400


async def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Whether `group` has committed the end of every partition of `topic`."""
    status = await group_status(bootstrap, group, [topic])
    return bool(status) and all(p.lag == 0 for p in status if p.topic == topic)


async def settle(bootstrap: str, topic: str, *services: RunningService) -> None:
    """Waits until each service's citizen consumer group has applied all of `topic`."""
    async with asyncio.timeout(120):
        for service in services:
            group = service.settings.consumer_group  # type: ignore[attr-defined]
            while not await caught_up(bootstrap, group, topic):  # noqa: ASYNC110 (another service's progress)
                await asyncio.sleep(0.2)


async def published_all(exchange: Exchange) -> None:
    """Waits until the population registry's outbox has published every event."""

    async def pending() -> int:
        return int(
            await exchange.population.db.read(
                lambda c: c.execute(select(func.count()).select_from(outbox)).scalar_one()
            )
        )

    async with asyncio.timeout(60):
        while await pending():  # noqa: ASYNC110 (the relay runs in the service)
            await asyncio.sleep(0.1)


async def mirrors(land: RunningService, business: RunningService) -> tuple[str, str]:
    """The state digests of a land and a business registry."""
    return (
        (await state_digest(land.db, land_tables)).digest,
        (await state_digest(business.db, business_tables)).digest,
    )


async def fresh_mirrors(
    exchange: Exchange, data: Path, topic: str
) -> tuple[RunningService, RunningService]:
    """Land and business seeded like the exchange's, in new databases, following `topic` in
    consumer groups of their own."""
    data.mkdir()  # noqa: ASYNC240 (a test's scratch folder)
    urls = {n: f"sqlite+aiosqlite:///{data / n}.db" for n in ("land", "business")}
    await seed_land(urls["land"], SIZES.parcels, SIZES.seed, SIZES.citizens)
    await seed_business(urls["business"], SIZES.enterprises, SIZES.seed, SIZES.citizens)

    def fresh(service: RunningService, name: str, **own_topic: str) -> Any:
        return service.settings.model_copy(
            update={
                "database_url": urls[name],
                "citizen_topic": topic,
                "consumer_group": f"{topic}.{name}",
                **own_topic,
            }
        )

    land = await start_land(fresh(exchange.land, "land", parcel_topic=f"{topic}.land-out"))
    business = await start_business(
        fresh(exchange.business, "business", enterprise_topic=f"{topic}.business-out")
    )
    return land, business


async def test_replayed_events_rebuild_the_same_state(
    exchange: Exchange, kafka_bootstrap: str, tmp_path: Path
) -> None:
    summary = await run_scenario(
        "life", seed=11, count=LIFE_EVENTS, targets=exchange_targets(exchange, "direct")
    )
    assert not summary.refusals, summary.lines(True)
    await published_all(exchange)
    await settle(kafka_bootstrap, exchange.citizen_topic, exchange.land, exchange.business)
    originals = await mirrors(exchange.land, exchange.business)

    recording = tmp_path / "population.ndjson.gz"
    recorded = await record(kafka_bootstrap, [exchange.citizen_topic], recording)
    assert recorded.records >= LIFE_EVENTS

    target = f"{exchange.prefix}.replayed.population.citizen.v1"
    land, business = await fresh_mirrors(exchange, tmp_path / "fresh", target)
    try:
        # The life events touched holders and representatives: there is something to rebuild.
        assert await mirrors(land, business) != originals
        # The second replay of the same file must change nothing.
        for _ in range(2):
            await replay(kafka_bootstrap, recording, topic_map={exchange.citizen_topic: target})
            await settle(kafka_bootstrap, target, land, business)
            assert await mirrors(land, business) == originals
    finally:
        await land.stop()
        await business.stop()
