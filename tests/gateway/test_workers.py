"""The gateway as deployed with several workers: `python -m ndx_gateway` with GATEWAY_WORKERS=2
serves every call audited from whichever worker takes it, the main process builds the data
tracker's index, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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


def gateway_env(exchange: Exchange, data: Path, port: int) -> dict[str, str]:
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
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


async def test_workers_serve_audited_calls_and_the_main_process_indexes(
    exchange: Exchange, tmp_path: Path
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ndx_gateway", env=gateway_env(exchange, tmp_path, port)
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
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0
