"""The police, owner of the population database, calling through the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, select

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2, population_service_pb2_grpc
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_cli.exchange import Exchange
from ndx_land.adapters.tables import holders

PURPOSE = "population-management"
METADATA = (("x-ndx-purpose", PURPOSE), ("x-ndx-officer", "officer-007"))


def police(exchange: Exchange) -> population_service_pb2_grpc.PopulationServiceStub:
    assert exchange.gateway is not None
    channel = exchange.channel(exchange.gateway.port, "police")
    return population_service_pb2_grpc.PopulationServiceStub(channel)


async def parcel_holders(exchange: Exchange, n: int) -> list[str]:
    """`n` citizens holding rights on parcels."""

    def query(conn: Connection) -> list[str]:
        found = select(holders.c.citizen_id).distinct().order_by(holders.c.citizen_id).limit(n)
        return [str(c) for c in conn.execute(found).scalars()]

    return await exchange.land.db.read(query)


async def record_death(
    exchange: Exchange, citizen_id: str, extra: Sequence[tuple[str, str]] = ()
) -> citizen_pb2.Citizen:
    """Records the citizen's death today, as the police; returns the citizen as it was."""
    stub = police(exchange)
    citizen = await stub.GetCitizen(ppb.GetCitizenRequest(citizen_id=citizen_id), metadata=METADATA)
    today = date.today()
    await stub.RecordDeath(
        ppb.RecordDeathRequest(
            citizen_id=citizen_id,
            date_of_death=types_pb2.Date(year=today.year, month=today.month, day=today.day),
            expected_version=citizen.version,
        ),
        metadata=[*METADATA, *extra],
    )
    return citizen
