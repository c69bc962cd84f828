"""Registries reacting to the population registry's events, against the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import Connection, func, select

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx.common.v1 import types_pb2
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_business.adapters.tables import representatives
from ndx_land.adapters.tables import holders
from ndx_runtime.consumer import ERROR_HEADER, GROUP_HEADER
from ndx_runtime.envelope import header
from ndx_runtime.kafka import create_producer, read_topic

from .conftest import Exchange

TODAY = date.today()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Polls `check` until it holds; fails after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 (the state changes in another service)
            await asyncio.sleep(0.05)


async def sole_representatives(exchange: Exchange, n: int) -> list[tuple[str, str]]:
    """`n` enterprises with exactly one legal representative, with that citizen's id."""

    def query(conn: Connection) -> list[tuple[str, str]]:
        one = (
            select(representatives.c.enterprise_code)
            .group_by(representatives.c.enterprise_code)
            .having(func.count() == 1)
        )
        rows = conn.execute(
            select(representatives.c.enterprise_code, representatives.c.citizen_id)
            .where(representatives.c.enterprise_code.in_(one))
            .order_by(representatives.c.enterprise_code)
            .limit(n)
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    return await exchange.business.db.read(query)


async def holder_of_parcels(exchange: Exchange) -> tuple[str, list[str]]:
    """A rights holder who is also a sole legal representative when there is one, with the
    parcels they hold."""

    def query(conn: Connection) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for parcel_id, citizen_id in conn.execute(
            select(holders.c.parcel_id, holders.c.citizen_id)
        ):
            held.setdefault(citizen_id, []).append(parcel_id)
        return held

    held = await exchange.land.db.read(query)
    return next((c, sorted(p)) for c, p in sorted(held.items()) if len(p) >= 1)


async def parcel(exchange: Exchange, parcel_id: str) -> object:
    stub = exchange.land_stub()
    return await stub.GetParcel(lpb.GetParcelRequest(parcel_id=parcel_id))


async def enterprise(exchange: Exchange, code: str) -> enterprise_pb2.Enterprise:
    stub = exchange.business_stub()
    return await stub.GetEnterprise(bpb.GetEnterpriseRequest(enterprise_code=code))


async def record_death(exchange: Exchange, citizen_id: str) -> citizen_pb2.Citizen:
    stub = exchange.population_stub()
    citizen = await stub.GetCitizen(ppb.GetCitizenRequest(citizen_id=citizen_id))
    died = types_pb2.Date(year=TODAY.year, month=TODAY.month, day=TODAY.day)
    return await stub.RecordDeath(
        ppb.RecordDeathRequest(
            citizen_id=citizen_id, date_of_death=died, expected_version=citizen.version
        )
    )


async def rename(exchange: Exchange, citizen_id: str, full_name: str) -> citizen_pb2.Citizen:
    stub = exchange.population_stub()
    citizen = await stub.GetCitizen(ppb.GetCitizenRequest(citizen_id=citizen_id))
    return await stub.UpdateCitizen(
        ppb.UpdateCitizenRequest(
            citizen=citizen_pb2.Citizen(citizen_id=citizen_id, full_name=full_name),
            update_mask=FieldMask(paths=["full_name"]),
            expected_version=citizen.version,
        )
    )


def representative(
    e: enterprise_pb2.Enterprise, citizen_id: str
) -> enterprise_pb2.LegalRepresentative:
    [rep] = [r for r in e.legal_representatives if r.citizen_id == citizen_id]
    return rep


async def test_a_death_flags_the_enterprises_of_the_dead_citizen(exchange: Exchange) -> None:
    [(code, citizen_id)] = await sole_representatives(exchange, 1)
    before = await enterprise(exchange, code)
    assert not before.representative_deceased

    await record_death(exchange, citizen_id)

    async def flagged() -> bool:
        return (await enterprise(exchange, code)).representative_deceased

    await eventually(flagged)
    after = await enterprise(exchange, code)
    rep = representative(after, citizen_id)
    assert rep.deceased
    assert (rep.date_of_death.year, rep.date_of_death.month) == (TODAY.year, TODAY.month)
    assert after.version == before.version + 1


async def test_a_death_shows_on_every_parcel_of_the_dead_citizen(exchange: Exchange) -> None:
    citizen_id, parcel_ids = await holder_of_parcels(exchange)
    before = {p: (await parcel(exchange, p)).version for p in parcel_ids}  # type: ignore[attr-defined]

    await record_death(exchange, citizen_id)

    async def marked() -> bool:
        for parcel_id in parcel_ids:
            found = await parcel(exchange, parcel_id)
            [me] = [h for h in found.holders if h.citizen_id == citizen_id]  # type: ignore[attr-defined]
            if not me.deceased:
                return False
        return True

    await eventually(marked)
    for parcel_id in parcel_ids:
        after = await parcel(exchange, parcel_id)
        assert after.version == before[parcel_id] + 1  # type: ignore[attr-defined]


async def test_a_rename_follows_into_the_enterprise(exchange: Exchange) -> None:
    [(code, citizen_id)] = await sole_representatives(exchange, 1)
    await rename(exchange, citizen_id, "Trần Thị Tên Mới")

    async def renamed() -> bool:
        rep = representative(await enterprise(exchange, code), citizen_id)
        return rep.full_name == "Trần Thị Tên Mới"

    await eventually(renamed)


async def test_redelivered_and_older_events_change_nothing(exchange: Exchange) -> None:
    reps = await sole_representatives(exchange, 3)
    (code, rep_id) = reps[0]
    holder_id, parcel_ids = await holder_of_parcels(exchange)
    other_id = next(c for _, c in reps[1:] if c not in {rep_id, holder_id})
    followed = sorted({rep_id, holder_id})
    for citizen_id in followed:
        await rename(exchange, citizen_id, "Lê Văn Một")
        await record_death(exchange, citizen_id)

    async def state() -> tuple[object, ...]:
        return (
            await enterprise(exchange, code),
            *[await parcel(exchange, p) for p in parcel_ids],
        )

    async def all_dead() -> bool:
        company, *parcels = await state()
        holders = [h for p in parcels for h in p.holders if h.citizen_id == holder_id]  # type: ignore[attr-defined]
        return company.representative_deceased and all(h.deceased for h in holders)  # type: ignore[attr-defined]

    await eventually(all_dead)
    settled = await state()
    bootstrap = exchange.population.settings.kafka_bootstrap_servers
    records = await read_topic(bootstrap, exchange.citizen_topic, at_least=2 * len(followed))
    replays = []
    for citizen_id in followed:
        rename_record, death_record = [r for r in records if r.key == citizen_id.encode()]
        # The death again, then the older rename after the newer death.
        replays += [death_record, rename_record]
    consumers = [c for m in (exchange.business, exchange.land) for c in m.consumers]
    handled = [c.stats.handled for c in consumers]
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for record in replays:
            await producer.send_and_wait(
                exchange.citizen_topic, record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()
    # The replays and a fresh event on another citizen: wait until every mirror handled them.
    await rename(exchange, other_id, "Phạm Thị Hai")

    async def caught_up() -> bool:
        return all(
            c.stats.handled >= h + len(replays) + 1 for c, h in zip(consumers, handled, strict=True)
        )

    await eventually(caught_up)
    assert await state() == settled


async def test_a_poison_record_is_dead_lettered_and_the_next_one_applied(
    exchange: Exchange,
) -> None:
    [(code, citizen_id)] = await sole_representatives(exchange, 1)
    bootstrap = exchange.population.settings.kafka_bootstrap_servers
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        await producer.send_and_wait(
            exchange.citizen_topic,
            b"\x0a\xff not protobuf",
            key=citizen_id.encode(),
            headers=[("ce_type", events_pb2.CitizenChanged.DESCRIPTOR.full_name.encode())],
        )
    finally:
        await producer.stop()
    await rename(exchange, citizen_id, "Đỗ Văn Sau")

    async def renamed() -> bool:
        rep = representative(await enterprise(exchange, code), citizen_id)
        return rep.full_name == "Đỗ Văn Sau"

    await eventually(renamed)
    # Each registry's group dead-letters the record once, naming itself.
    letters = await read_topic(bootstrap, f"{exchange.citizen_topic}.dlq", at_least=2)
    groups = sorted(header(list(r.headers), GROUP_HEADER) or "" for r in letters)
    assert groups == sorted(
        c.group_id for s in (exchange.business, exchange.land) for c in s.consumers
    )
    dead = letters[0]
    assert dead.key == citizen_id.encode()
    error = header(list(dead.headers), ERROR_HEADER)
    assert error is not None and error.startswith(
        "PoisonRecord: not a ndx.population.v1.CitizenChanged"
    )
