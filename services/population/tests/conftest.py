"""A population registry started in-process on a fresh database and its own topic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from ndx.population.v1 import population_service_pb2_grpc
from ndx_population.bootstrap import start
from ndx_population.config import PopulationSettings
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials


@dataclass
class Running:
    service: RunningService
    settings: PopulationSettings
    pki: Path
    address: str

    def channel(self, identity: str | None = "ndx-admin") -> grpc.aio.Channel:
        """A channel presenting `identity`'s certificate (None: no client certificate)."""
        if identity is None:
            creds = grpc.ssl_channel_credentials((self.pki / "ca.crt").read_bytes())
        else:
            creds = channel_credentials(
                self.pki / "ca.crt", self.pki / f"{identity}.crt", self.pki / f"{identity}.key"
            )
        return grpc.aio.secure_channel(self.address, creds)

    def stub(
        self, identity: str | None = "ndx-admin"
    ) -> population_service_pb2_grpc.PopulationServiceStub:
        return population_service_pb2_grpc.PopulationServiceStub(self.channel(identity))


def registry_settings(
    database_url: str, kafka_bootstrap: str, pki: Path, unique: str
) -> PopulationSettings:
    return PopulationSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "population.crt",
        tls_key_file=pki / "population.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"service/gateway", "operator/ndx-admin"}),
        citizen_topic=f"test.{unique}.population.citizen.v1",
        outbox_poll_seconds=0.1,
        shutdown_grace_seconds=2,
    )


@pytest.fixture
def population_settings(
    database_url: str, kafka_bootstrap: str, pki: Path, unique: str
) -> PopulationSettings:
    return registry_settings(database_url, kafka_bootstrap, pki, unique)


@pytest.fixture
async def population(population_settings: PopulationSettings) -> AsyncIterator[Running]:
    service = await start(population_settings)
    running = Running(
        service,
        population_settings,
        population_settings.tls_ca_file.parent,
        f"127.0.0.1:{service.host.port}",
    )
    try:
        yield running
    finally:
        await service.stop()


StubFactory = Callable[[str | None], population_service_pb2_grpc.PopulationServiceStub]
