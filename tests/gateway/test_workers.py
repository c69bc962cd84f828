"""The gateway as deployed with several workers: `python -m ndx_gateway` with GATEWAY_WORKERS=2
serves every call audited from whichever worker takes it, the main process builds the data
tracker's index, the workers share the health port as they share the gRPC port, and SIGTERM
stops them all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ndx.gateway.v1 import data_tracker_pb2
from ndx_cli.exchange import Exchange
from ndx_cli.stack.procs import free_port

from .conftest import Agency, registries
from .support import GET_CITIZEN, LIST_ACCESSES


@pytest.fixture
async def exchange(tmp_path: Path, kafka_bootstrap: str, pki: Path) -> AsyncIterator[Exchange]:
    running = await registries(tmp_path, kafka_bootstrap, pki)
    try:
        yield running
    finally:
        await running.stop()


def gateway_env(exchange: Exchange, data: Path, port: int, health: int) -> dict[str, str]:
    settings = exchange.gateway_settings(data)
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "GATEWAY_GRPC_PORT": str(port),
        "GATEWAY_TLS_CERT_FILE": str(settings.tls_cert_file),
        "GATEWAY_TLS_KEY_FILE": str(settings.tls_key_file),
        "GATEWAY_TLS_CA_FILE": str(settings.tls_ca_file),
        "GATEWAY_UPSTREAMS": json.dumps(settings.upstreams),
        "GATEWAY_AUDIT_TOPIC": settings.audit_topic,
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_TRACKER_CONSUMER_GROUP": settings.tracker_consumer_group,
        "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
        "GATEWAY_WORKERS": "2",
        "GATEWAY_HEALTH_PORT": str(health),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


async def ready_in_a_row(address: str, times: int) -> None:
    """Waits until `times` probes in a row (fresh connections) find readiness SERVING."""
    request = health_pb2.HealthCheckRequest(service="readiness")
    streak = 0
    async with asyncio.timeout(60):
        while streak < times:
            async with grpc.aio.insecure_channel(address) as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
            serving = reply.status == health_pb2.HealthCheckResponse.SERVING
            streak = streak + 1 if serving else 0
            if not serving:
                await asyncio.sleep(0.2)


async def test_workers_serve_audited_calls_and_the_main_process_indexes(
    exchange: Exchange, tmp_path: Path
) -> None:
    port, health = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ndx_gateway", env=gateway_env(exchange, tmp_path, port, health)
    )
    try:
        [cid] = await exchange.population.db.read(
            lambda c: [r[0] for r in c.exec_driver_sql("select citizen_id from citizens limit 1")]
        )
        officer = f"off-{uuid.uuid4().hex[:8]}"
        # A fresh connection each call: the kernel spreads them over the workers.
        for attempt in range(200):
            tax = Agency("tax-authority", exchange.channel(port, "tax-authority"))
            try:
                await tax.call(
                    GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration", officer=officer
                )
                break
            except Exception:
                if attempt == 199:
                    raise
                await asyncio.sleep(0.2)  # the workers are still starting
        for _ in range(9):
            tax = Agency("tax-authority", exchange.channel(port, "tax-authority"))
            await tax.call(
                GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration", officer=officer
            )
        portal = Agency("citizen-portal", exchange.channel(port, "citizen-portal"))
        mine: list[data_tracker_pb2.Access] = []
        for _ in range(150):
            response, _ = await portal.call(
                LIST_ACCESSES, {"citizen_id": cid, "page_size": 100}, purpose="data-tracker"
            )
            assert isinstance(response, data_tracker_pb2.ListAccessesResponse)
            mine = [a for a in response.accesses if a.officer == officer]
            if len(mine) == 10:
                break
            await asyncio.sleep(0.2)
        assert len(mine) == 10
        assert {a.agency for a in mine} == {"tax-authority"}
        # A probe reaches one worker or the other: they all come to say they are ready.
        await ready_in_a_row(f"127.0.0.1:{health}", 10)
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0
