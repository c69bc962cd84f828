"""SIGTERM: the registry says it is going, stops taking calls, finishes what it has, flushes its
outbox, exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2

from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_cli.stack.postgres import create_database
from ndx_population.config import PopulationSettings
from ndx_runtime.kafka import read_topic
from ndx_runtime.tls import channel_credentials

from ..conftest import registry_settings
from .test_health import status
from .test_registry_grpc import new_citizen


async def start_child(settings: PopulationSettings, log: Path) -> ServiceProcess:
    """The registry in a process of its own, on ports it picks and logs, with time to drain."""
    settings = settings.model_copy(
        update={"health_port": 0, "shutdown_grace_seconds": 60, "log_format": "json"}
    )
    env = settings_env(settings, os.environ)
    return await ServiceProcess.start([sys.executable, "-m", "ndx_population"], env, log)


@pytest.fixture
async def child(population_settings: PopulationSettings, tmp_path: Path) -> AsyncIterator[Child]:
    process = await start_child(population_settings, tmp_path / "registry.log")
    try:
        yield await Child.ready(process, population_settings.tls_ca_file.parent)
    finally:
        process.kill()


class Child:
    """A started registry process and how to reach it."""

    def __init__(self, process: ServiceProcess, api: str, health: str, pki: Path) -> None:
        self.process, self.api, self.health, self.pki = process, api, health, pki

    @classmethod
    async def ready(cls, process: ServiceProcess, pki: Path) -> Child:
        grpc_port = (await process.logged("grpc serving"))["port"]
        health_port = (await process.logged("health serving"))["port"]
        return cls(process, f"127.0.0.1:{grpc_port}", f"127.0.0.1:{health_port}", pki)

    def stub(self) -> tuple[grpc.aio.Channel, PopulationServiceStub]:
        creds = channel_credentials(
            self.pki / "ca.crt", self.pki / "ndx-admin.crt", self.pki / "ndx-admin.key"
        )
        channel = grpc.aio.secure_channel(self.api, creds)
        return channel, PopulationServiceStub(channel)


async def test_sigterm_drains_and_exits_cleanly(
    child: Child, population_settings: PopulationSettings
) -> None:
    s = population_settings
    channel, stub = child.stub()
    async with channel:
        await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))

    assert await child.process.terminate() == 0, child.process.log_file.read_text()
    events = [e["event"] for e in child.process.entries()]
    assert events.index("outbox flushed") < events.index("service stopped")
    records = await read_topic(s.kafka_bootstrap_servers, s.citizen_topic, at_least=1)
    assert len(records) == 1


async def blocked_writers(server_url: str, database: str) -> int:
    """Sessions of `database` waiting for a lock."""
    conn = await asyncpg.connect(server_url.replace("+asyncpg", "") + "/postgres")
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = $1 AND wait_event_type = 'Lock'",
                database,
            )
        )
    finally:
        await conn.close()


async def test_a_call_in_flight_at_sigterm_completes_and_new_ones_are_refused(
    postgres_server: object, kafka_bootstrap: str, pki: Path, unique: str, tmp_path: Path
) -> None:
    server_url: str = postgres_server.server_url  # type: ignore[attr-defined]
    database = f"t_{unique}"
    settings = registry_settings(
        create_database(server_url, database), kafka_bootstrap, pki, unique
    )
    process = await start_child(settings, tmp_path / "registry.log")
    try:
        child = await Child.ready(process, pki)
        channel, stub = child.stub()
        async with channel:
            before = new_citizen("001190000001", "Trần Thị Trước")
            await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=before))

            # A write that waits on a lock this test holds: in flight until it lets go.
            holder = await asyncpg.connect(server_url.replace("+asyncpg", "") + f"/{database}")
            lock = holder.transaction()
            await lock.start()
            await holder.execute("LOCK TABLE citizens IN EXCLUSIVE MODE")
            during = new_citizen("001190000002", "Lê Thị Giữa")
            slow = asyncio.ensure_future(
                stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=during), timeout=120)
            )
            async with asyncio.timeout(30):
                while not await blocked_writers(server_url, database):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)

            process.proc.send_signal(signal.SIGTERM)
            # Probes hear it first; then the port stops taking calls.
            going = health_pb2.HealthCheckResponse.NOT_SERVING
            async with asyncio.timeout(30):
                while await status(child.health, "") != going:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert await refused(child) == grpc.StatusCode.UNAVAILABLE
            assert not slow.done()

            await lock.commit()
            await holder.close()
            reply = await slow
            assert reply.citizen_id == during.citizen_id
        assert await process.wait() == 0, process.log_file.read_text()
    finally:
        process.kill()
    records = await read_topic(kafka_bootstrap, settings.citizen_topic, at_least=2)
    assert sorted(r.key for r in records) == [b"001190000001", b"001190000002"]


async def refused(child: Child) -> grpc.StatusCode:
    """The status of a new call, once the registry refuses them (it is stopping)."""
    async with asyncio.timeout(30):
        while True:
            channel, stub = child.stub()
            async with channel:
                try:
                    await stub.GetCitizen(
                        pb.GetCitizenRequest(citizen_id="001190000001"), timeout=5
                    )
                except grpc.aio.AioRpcError as error:
                    return error.code()
            await asyncio.sleep(0.05)
