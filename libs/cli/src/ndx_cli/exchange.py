"""The whole exchange in one process: three registries seeded from one seed, and the gateway
in front of them, on topics and consumer groups of their own (a name prefix). Integration
tests and benchmarks start it; `ndx up` runs the same services as separate processes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from ndx_gateway.bootstrap import RunningGateway
from ndx_gateway.bootstrap import start as start_gateway
from ndx_gateway.config import GatewaySettings

from ndx.business.v1 import business_service_pb2_grpc
from ndx.land.v1 import land_service_pb2_grpc
from ndx.population.v1 import population_service_pb2_grpc
from ndx_business.bootstrap import start as start_business
from ndx_business.config import BusinessSettings
from ndx_business.seed import seed_business
from ndx_land.bootstrap import start as start_land
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.adapters.bulk_load import create_schema, load_rows
from ndx_population.bootstrap import start as start_population
from ndx_population.config import PopulationSettings
from ndx_population.gateway_verifier import GatewayCitizenVerifier, citizen_verifier
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials


@dataclass(frozen=True)
class Sizes:
    seed: int = 7
    citizens: int = 3_000
    enterprises: int = 400
    parcels: int = 600


def change_topics(prefix: str) -> dict[str, str]:
    """The registries' change-event topics of an exchange, by aggregate."""
    return {
        "citizen": f"{prefix}.population.citizen.v1",
        "parcel": f"{prefix}.land.parcel.v1",
        "enterprise": f"{prefix}.business.enterprise.v1",
    }


@dataclass
class Exchange:
    population: RunningService
    business: RunningService
    land: RunningService
    citizen_topic: str
    pki: Path
    prefix: str
    sizes: Sizes
    gateway: RunningGateway | None = None
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def channel(self, port: int, identity: str) -> grpc.aio.Channel:
        """A channel to a local port presenting `identity`'s certificate (closed on stop)."""
        creds = channel_credentials(
            self.pki / "ca.crt", self.pki / f"{identity}.crt", self.pki / f"{identity}.key"
        )
        channel = grpc.aio.secure_channel(f"127.0.0.1:{port}", creds)
        self.channels.append(channel)
        return channel

    def _admin(self, service: RunningService) -> grpc.aio.Channel:
        return self.channel(service.host.port, "ndx-admin")

    def population_stub(self) -> population_service_pb2_grpc.PopulationServiceStub:
        return population_service_pb2_grpc.PopulationServiceStub(self._admin(self.population))

    def land_stub(self) -> land_service_pb2_grpc.LandServiceStub:
        return land_service_pb2_grpc.LandServiceStub(self._admin(self.land))

    def business_stub(self) -> business_service_pb2_grpc.BusinessRegistryServiceStub:
        return business_service_pb2_grpc.BusinessRegistryServiceStub(self._admin(self.business))

    def upstreams(self) -> dict[str, str]:
        """The registries' services and where they listen, for a gateway's settings."""
        return {
            "ndx.population.v1.PopulationService": f"127.0.0.1:{self.population.host.port}",
            "ndx.land.v1.LandService": f"127.0.0.1:{self.land.host.port}",
            "ndx.business.v1.BusinessRegistryService": f"127.0.0.1:{self.business.host.port}",
        }

    def gateway_settings(self, data: Path, **overrides: Any) -> GatewaySettings:
        """Settings of a gateway in front of these registries, on this exchange's topics."""
        kafka = self.population.settings.kafka_bootstrap_servers
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka,
            "grpc_port": 0,
            "tls_cert_file": self.pki / "gateway.crt",
            "tls_key_file": self.pki / "gateway.key",
            "tls_ca_file": self.pki / "ca.crt",
            "upstreams": self.upstreams(),
            "audit_topic": f"{self.prefix}.gateway.audit.v1",
            "audit_partitions": 1,
            "database_url": f"sqlite+aiosqlite:///{data / 'gateway.db'}",
            "tracker_consumer_group": f"{self.prefix}.gateway-tracker",
            "policy_poll_seconds": 0.2,
            "shutdown_grace_seconds": 2,
            "feed_topics": change_topics(self.prefix),
        }
        values.update(overrides)
        return GatewaySettings(**values)

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close(grace=None)
        if self.gateway is not None:
            await self.gateway.stop()
        await self.land.stop()
        await self.business.stop()
        await self.population.stop()


async def seed_population(url: str, sizes: Sizes) -> None:
    db = Database.from_url(url)
    try:
        await create_schema(db.engine)
        await load_rows(
            db.engine, rows_from_child(sizes.seed, sizes.citizens, db.engine.dialect.name)
        )
    finally:
        await db.dispose()


def _common(
    pki: Path, name: str, kafka: str, url: str, allowed: frozenset[str], metrics_port: int | None
) -> dict[str, Any]:
    return {
        "database_url": url,
        "kafka_bootstrap_servers": kafka,
        "grpc_port": 0,
        "tls_cert_file": pki / f"{name}.crt",
        "tls_key_file": pki / f"{name}.key",
        "tls_ca_file": pki / "ca.crt",
        "allowed_identities": allowed,
        "outbox_poll_seconds": 0.1,
        "shutdown_grace_seconds": 2,
        "metrics_port": metrics_port,
    }


# The gateway's address before it listens (it starts after the registries it calls).
PENDING = "127.0.0.1:0"


def _verifying(pki: Path, agency: str, gateway: bool) -> dict[str, Any]:
    """How a registry verifies the citizens its writes name: through the gateway as `agency`
    (at an address given once the gateway listens), or not at all without a gateway."""
    if not gateway:
        return {"gateway_address": ""}
    return {
        "gateway_address": PENDING,
        "agency_cert_file": pki / f"{agency}.crt",
        "agency_key_file": pki / f"{agency}.key",
    }


def _checks(settings: LandSettings | BusinessSettings) -> GatewayCitizenVerifier | None:
    verifier = citizen_verifier(settings)
    return verifier if isinstance(verifier, GatewayCitizenVerifier) else None


async def start_exchange(
    data: Path,
    kafka: str,
    pki: Path,
    prefix: str,
    *,
    sizes: Sizes = Sizes(),
    gateway: bool = False,
    allowed: frozenset[str] = frozenset({"service/gateway", "operator/ndx-admin"}),
    metrics_port: int | None = None,
) -> Exchange:
    """Seeds and starts the registries (and the gateway in front of them when asked), with
    their databases under `data` and their topics and groups named `<prefix>.…`. With the
    gateway, land and business verify the citizens their writes name through it (told its
    address once it listens; no write reaches them before); without it, they do not verify.
    `metrics_port` 0 serves each registry's metrics on a free port."""
    topics = change_topics(prefix)
    citizen_topic = topics["citizen"]
    urls = {n: f"sqlite+aiosqlite:///{data / n}.db" for n in ("population", "business", "land")}
    await seed_population(urls["population"], sizes)
    await seed_business(urls["business"], sizes.enterprises, sizes.seed, sizes.citizens)
    await seed_land(urls["land"], sizes.parcels, sizes.seed, sizes.citizens)
    business_settings = BusinessSettings(
        **_common(pki, "business-registry", kafka, urls["business"], allowed, metrics_port),
        enterprise_topic=topics["enterprise"],
        citizen_topic=citizen_topic,
        consumer_group=f"{prefix}.business",
        **_verifying(pki, "business-office", gateway),
    )
    land_settings = LandSettings(
        **_common(pki, "land", kafka, urls["land"], allowed, metrics_port),
        parcel_topic=topics["parcel"],
        citizen_topic=citizen_topic,
        consumer_group=f"{prefix}.land",
        **_verifying(pki, "land-office", gateway),
    )
    business_checks, land_checks = _checks(business_settings), _checks(land_settings)
    # Whatever started is stopped again if a later step fails.
    async with contextlib.AsyncExitStack() as started:
        population = await start_population(
            PopulationSettings(
                **_common(pki, "population", kafka, urls["population"], allowed, metrics_port),
                citizen_topic=citizen_topic,
            )
        )
        started.push_async_callback(population.stop)
        business = await start_business(business_settings, citizens=business_checks)
        started.push_async_callback(business.stop)
        land = await start_land(land_settings, citizens=land_checks)
        started.push_async_callback(land.stop)
        exchange = Exchange(population, business, land, citizen_topic, pki, prefix, sizes)
        if gateway:
            exchange.gateway = await start_gateway(exchange.gateway_settings(data))
            for checks in (business_checks, land_checks):
                if checks is not None:
                    checks.address = f"127.0.0.1:{exchange.gateway.port}"
        started.pop_all()
    return exchange
