"""SIGTERM: the registry stops taking calls, finishes what it has, flushes its outbox, exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import grpc

from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.stack.procs import free_port
from ndx_population.config import PopulationSettings
from ndx_runtime.kafka import read_topic
from ndx_runtime.tls import channel_credentials

from .test_registry_grpc import new_citizen


async def test_sigterm_drains_and_exits_cleanly(
    population_settings: PopulationSettings, pki: Path, tmp_path: Path
) -> None:
    s = population_settings
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "POPULATION_DATABASE_URL": s.database_url,
        "POPULATION_GRPC_PORT": str(port),
        "POPULATION_TLS_CERT_FILE": str(s.tls_cert_file),
        "POPULATION_TLS_KEY_FILE": str(s.tls_key_file),
        "POPULATION_TLS_CA_FILE": str(s.tls_ca_file),
        "POPULATION_ALLOWED_IDENTITIES": json.dumps(["operator/ndx-admin"]),
        "POPULATION_CITIZEN_TOPIC": s.citizen_topic,
        "POPULATION_LOG_FORMAT": "json",
    }
    log = tmp_path / "registry.log"
    with open(log, "wb") as out:  # noqa: ASYNC230 (set-up, before anything runs)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ndx_population", env=env, stdout=out, stderr=out
        )
    creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
    try:
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            try:
                await asyncio.wait_for(channel.channel_ready(), 60)
            except TimeoutError:
                raise AssertionError(f"the registry did not start:\n{log.read_text()}") from None
            stub = PopulationServiceStub(channel)
            await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert code == 0, log.read_text()
    assert '"service stopped"' in log.read_text()
    records = await read_topic(s.kafka_bootstrap_servers, s.citizen_topic, at_least=1)
    assert len(records) == 1
