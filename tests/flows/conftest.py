"""Three registries in one process, seeded from one seed, on their own topics and groups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from ndx.business.v1 import business_service_pb2_grpc
from ndx.land.v1 import land_service_pb2_grpc
from ndx.population.v1 import population_service_pb2_grpc
from ndx_business.bootstrap import start as start_business
from ndx_business.config import BusinessSettings
from ndx_business.seed import seed_business
from ndx_land.bootstrap import start as start_land
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.adapters.bulk_load import load_rows
from ndx_population.adapters.tables import metadata as population_metadata
from ndx_population.bootstrap import start as start_population
from ndx_population.config import PopulationSettings
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database, create_schema
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials

SEED = 7
CITIZENS = 3_000
ENTERPRISES = 400
PARCELS = 600


@dataclass
class Exchange:
    population: RunningService
    business: RunningService
    land: RunningService
    citizen_topic: str
    pki: Path
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def _channel(self, service: RunningService) -> grpc.aio.Channel:
        creds = channel_credentials(
            self.pki / "ca.crt", self.pki / "ndx-admin.crt", self.pki / "ndx-admin.key"
        )
        channel = grpc.aio.secure_channel(f"127.0.0.1:{service.host.port}", creds)
        self.channels.append(channel)
        return channel

    def population_stub(self) -> population_service_pb2_grpc.PopulationServiceStub:
        return population_service_pb2_grpc.PopulationServiceStub(self._channel(self.population))

    def land_stub(self) -> land_service_pb2_grpc.LandServiceStub:
        return land_service_pb2_grpc.LandServiceStub(self._channel(self.land))

    def business_stub(self) -> business_service_pb2_grpc.BusinessRegistryServiceStub:
        return business_service_pb2_grpc.BusinessRegistryServiceStub(self._channel(self.business))


async def seed_population(url: str) -> None:
    db = Database.from_url(url)
    try:
        await create_schema(db.engine, population_metadata)
        await load_rows(db.engine, rows_from_child(SEED, CITIZENS, db.engine.dialect.name))
    finally:
        await db.dispose()


def _common(pki: Path, name: str, kafka: str, url: str) -> dict[str, Any]:
    return {
        "database_url": url,
        "kafka_bootstrap_servers": kafka,
        "grpc_port": 0,
        "tls_cert_file": pki / f"{name}.crt",
        "tls_key_file": pki / f"{name}.key",
        "tls_ca_file": pki / "ca.crt",
        "allowed_identities": frozenset({"service/gateway", "operator/ndx-admin"}),
        "outbox_poll_seconds": 0.1,
        "shutdown_grace_seconds": 2,
    }


@pytest.fixture
async def exchange(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[Exchange]:
    citizen_topic = f"test.{unique}.population.citizen.v1"
    urls = {n: f"sqlite+aiosqlite:///{tmp_path / n}.db" for n in ("population", "business", "land")}
    await seed_population(urls["population"])
    await seed_business(urls["business"], ENTERPRISES, SEED, CITIZENS)
    await seed_land(urls["land"], PARCELS, SEED, CITIZENS)
    population = await start_population(
        PopulationSettings(
            **_common(pki, "population", kafka_bootstrap, urls["population"]),
            citizen_topic=citizen_topic,
        )
    )
    business = await start_business(
        BusinessSettings(
            **_common(pki, "business-registry", kafka_bootstrap, urls["business"]),
            enterprise_topic=f"test.{unique}.business.enterprise.v1",
            citizen_topic=citizen_topic,
            consumer_group=f"test.{unique}.business",
        )
    )
    land = await start_land(
        LandSettings(
            **_common(pki, "land", kafka_bootstrap, urls["land"]),
            parcel_topic=f"test.{unique}.land.parcel.v1",
            citizen_topic=citizen_topic,
            consumer_group=f"test.{unique}.land",
        )
    )
    running = Exchange(population, business, land, citizen_topic, pki)
    try:
        yield running
    finally:
        for channel in running.channels:
            await channel.close()
        await land.stop()
        await business.stop()
        await population.stop()
