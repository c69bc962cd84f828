"""`ndx-population migrate`, and a registry that waits for it (migrate_on_start off)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from ndx.population.v1 import population_service_pb2 as pb
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_population.migrations import MIGRATIONS
from ndx_runtime.db import create_engine
from ndx_runtime.migrations import SchemaState

from ..conftest import registry_settings
from .test_health import status
from .test_shutdown import Child

SCRIPT = str(Path(sys.executable).parent / "ndx-population")


async def migrate(env: dict[str, str]) -> tuple[int, list[dict[str, object]]]:
    """Runs `ndx-population migrate`; its exit code and JSON log."""
    proc = await asyncio.create_subprocess_exec(
        SCRIPT, "migrate", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    entries = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert proc.returncode is not None
    return proc.returncode, entries


async def state(url: str) -> SchemaState:
    engine = create_engine(url)
    try:
        return await MIGRATIONS.state(engine)
    finally:
        await engine.dispose()


def env_for(url: str) -> dict[str, str]:
    return {**os.environ, "POPULATION_DATABASE_URL": url, "POPULATION_LOG_FORMAT": "json"}


async def test_migrate_brings_a_new_database_to_head_and_exits(database_url: str) -> None:
    code, log = await migrate(env_for(database_url))

    assert code == 0, log
    assert (await state(database_url)).at_head
    assert {"event": "schema migrated", "before": [], "after": ["0001"]}.items() <= next(
        e for e in log if e["event"] == "schema migrated" and "before" in e
    ).items()


async def test_migrate_says_why_it_cannot(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    code, log = await migrate(env_for(url))

    assert code == 1
    [failure] = [e for e in log if e["event"] == "migration failed"]
    assert failure["database"] == url
    assert "Connect call failed" in str(failure["error"])


async def test_without_migrate_on_start_the_registry_waits_until_migrated(
    kafka_bootstrap: str, pki: Path, unique: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    settings = registry_settings(url, kafka_bootstrap, pki, unique).model_copy(
        update={
            "migrate_on_start": False,
            "health_port": 0,
            "readiness_interval_seconds": 0.2,
            "log_format": "json",
        }
    )
    env = settings_env(settings, os.environ)
    process = await ServiceProcess.start([SCRIPT], env, tmp_path / "registry.log")
    try:
        health = f"127.0.0.1:{(await process.logged('health serving'))['port']}"
        await process.logged("readiness check failing", check="schema")
        assert await status(health, "") == health_pb2.HealthCheckResponse.SERVING
        assert await status(health, "readiness") == health_pb2.HealthCheckResponse.NOT_SERVING
        # Nothing touched the schema, and the API does not listen yet.
        assert (await state(settings.database_url)).current == ()
        assert "grpc serving" not in {e["event"] for e in process.entries()}

        code, log = await migrate(env)
        assert code == 0, log

        child = await Child.ready(process, pki)
        async with asyncio.timeout(30):
            while await status(health, "readiness") != health_pb2.HealthCheckResponse.SERVING:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        channel, stub = child.stub()
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.GetCitizen(pb.GetCitizenRequest(citizen_id="001190000009"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert await process.terminate() == 0
    finally:
        process.kill()
