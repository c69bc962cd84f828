"""The health port: plaintext liveness and readiness for probes; readiness follows the
database and the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.stack.postgres import create_database
from ndx_population.bootstrap import start
from ndx_population.config import PopulationSettings
from ndx_population.migrations import MIGRATIONS
from ndx_runtime.db import create_engine
from ndx_runtime.service import RunningService

from ..conftest import Running, registry_settings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def check(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(reply.status)


async def status(address: str, service: str) -> int:
    """What the health service at `address` says of `service`, asked in plaintext."""
    async with grpc.aio.insecure_channel(address) as plain:
        return await check(plain, service)


async def becomes(address: str, service: str, expected: int, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while await status(address, service) != expected:  # noqa: ASYNC110 (another task's state)
            await asyncio.sleep(0.1)


def probed(settings: PopulationSettings) -> PopulationSettings:
    return settings.model_copy(update={"health_port": 0, "readiness_interval_seconds": 0.1})


def health_address(service: RunningService) -> str:
    assert service.probes.health_port is not None
    return f"127.0.0.1:{service.probes.health_port.port}"


async def test_the_health_port_answers_probes_in_plaintext_and_nothing_else(
    population_settings: PopulationSettings,
) -> None:
    service = await start(probed(population_settings))
    health = health_address(service)
    try:
        assert await status(health, "") == SERVING
        assert await status(health, "readiness") == SERVING

        async with grpc.aio.insecure_channel(health) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as other:
                await PopulationServiceStub(plain).GetCitizen(
                    pb.GetCitizenRequest(citizen_id="001190012345"), timeout=5
                )
        assert other.value.code() == grpc.StatusCode.UNIMPLEMENTED

        # The service's own port still wants a certificate; its health mirrors readiness.
        api = f"127.0.0.1:{service.host.port}"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await status(api, "")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        pki = population_settings.tls_ca_file.parent
        async with Running(service, population_settings, pki, api).channel() as secure:
            assert await check(secure, "") == SERVING
            assert await check(secure, "ndx.population.v1.PopulationService") == SERVING
    finally:
        await service.stop()
    with pytest.raises(grpc.aio.AioRpcError):
        await status(health, "")


async def drop_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_readiness_follows_the_database_and_the_schema(
    postgres_server: object, kafka_bootstrap: str, pki: Path, unique: str
) -> None:
    server_url: str = postgres_server.server_url  # type: ignore[attr-defined]
    name = f"t_{unique}"
    url = create_database(server_url, name)
    settings = probed(registry_settings(url, kafka_bootstrap, pki, unique))
    service = await start(settings)
    health = health_address(service)
    readiness = service.probes.readiness
    assert readiness is not None
    try:
        assert await status(health, "readiness") == SERVING

        await drop_database(server_url, name)
        await becomes(health, "readiness", NOT_SERVING)
        assert await status(health, "") == SERVING  # alive all the same
        assert {"database", "schema"} <= readiness.failing.keys()

        # Back, but empty: not ready until the schema is at head again.
        create_database(server_url, name)
        async with asyncio.timeout(30):
            while set(readiness.failing) != {"schema"}:  # noqa: ASYNC110 (the service's loop)
                await asyncio.sleep(0.1)
        assert await status(health, "readiness") == NOT_SERVING

        engine = create_engine(url)
        try:
            await MIGRATIONS.upgrade(engine)
        finally:
            await engine.dispose()
        await becomes(health, "readiness", SERVING)
        assert readiness.failing == {}
    finally:
        await service.stop()
