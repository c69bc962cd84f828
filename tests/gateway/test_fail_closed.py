"""With its audit log's Kafka stopped, the gateway refuses calls instead of serving them
unaudited, and tells its readiness probe until Kafka is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from ndx_gateway.bootstrap import start as start_gateway

from ndx_cli.exchange import Exchange
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.procs import free_port

from ..probes import NOT_SERVING, SERVING, becomes, readiness
from .conftest import Agency, registries
from .support import GET_CITIZEN, VERIFY_CITIZEN

STATE = Path(__file__).parents[2] / ".ndx"


@pytest.fixture(scope="module")
async def audit_broker(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> AsyncIterator[KafkaStack]:
    """A broker of its own, to be stopped under a running gateway."""
    stack = KafkaStack(
        tmp_path_factory.mktemp("audit-kafka"),
        port=free_port(),
        controller_port=free_port(),
        libs=STATE / "kafka" / "libs",
        heap="256m",
    )
    stack.start(timeout=120)
    try:
        yield stack
    finally:
        stack.kill()


async def test_with_kafka_stopped_calls_are_refused(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, audit_broker: KafkaStack
) -> None:
    exchange: Exchange = await registries(tmp_path, kafka_bootstrap, pki)
    gateway = await start_gateway(
        exchange.gateway_settings(
            tmp_path,
            kafka_bootstrap_servers=audit_broker.bootstrap,
            audit_timeout_seconds=2.0,
            health_port=0,
            readiness_interval_seconds=0.2,
        )
    )
    exchange.gateway = gateway
    assert gateway.probes.health_port is not None
    health = gateway.probes.health_port.port
    try:
        assert await readiness(health) == SERVING
        ids = await exchange.population.db.read(
            lambda c: [r[0] for r in c.exec_driver_sql("select citizen_id from citizens limit 1")]
        )
        tax = Agency("tax-authority", exchange.channel(gateway.port, "tax-authority"))
        response, _ = await tax.call(
            GET_CITIZEN, {"citizen_id": ids[0]}, purpose="tax-registration"
        )
        assert response.citizen_id == ids[0]  # type: ignore[attr-defined]
        written = gateway.audit.written

        audit_broker.stop()
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await tax.call(GET_CITIZEN, {"citizen_id": ids[0]}, purpose="tax-registration")
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "audit" in (caught.value.details() or "")
        assert time.monotonic() - started < 10
        # Right after, calls are refused up front, before they reach a registry.
        bank = Agency("bank-ekyc", exchange.channel(gateway.port, "bank-ekyc"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await bank.call(
                VERIFY_CITIZEN,
                {"citizen_id": ids[0], "claim_mask": {"paths": ["full_name"]}},
                purpose="ekyc",
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert gateway.audit.written == written

        # The probe hears it too, and hears Kafka come back.
        await becomes(health, NOT_SERVING)
        assert gateway.probes.readiness is not None
        assert set(gateway.probes.readiness.failing) == {"kafka"}
        await asyncio.to_thread(audit_broker.start, 120)
        await becomes(health, SERVING)
    finally:
        await exchange.stop()
