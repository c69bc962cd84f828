"""`ndx up` for real: the three registries and the gateway as background processes on their
own ports, an agency's call through the gateway, the citizen's trail, the audit chain, and
`ndx down`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ndx_cli.stack.procs import is_alive, read_pid

SERVICES = ("population", "land", "business-registry", "gateway")
ROUTES = ("POPULATION", "LAND", "BUSINESS", "GATEWAY")


@dataclass
class Stack:
    home: Path
    env: dict[str, str]

    def ndx(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ndx_cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, pki: Path
) -> Iterator[Stack]:
    import uuid

    home = tmp_path_factory.mktemp("ndx-home")
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    citizens = f"{prefix}.population.citizen.v1"
    gateway, population, land, business, *metrics = free_ports(8)
    env = {
        **os.environ,
        "NDX_HOME": str(home),
        "NDX_GATEWAY_ADDRESS": f"127.0.0.1:{gateway}",
        "NDX_POPULATION_ADDRESS": f"127.0.0.1:{population}",
        "NDX_LAND_ADDRESS": f"127.0.0.1:{land}",
        "NDX_BUSINESS_ADDRESS": f"127.0.0.1:{business}",
        **{
            f"NDX_{route}_METRICS_PORT": str(port)
            for route, port in zip(ROUTES, metrics, strict=True)
        },
        "NDX_OFFICER": "stack-test",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # Topics and groups of this test only, on the shared broker.
        "POPULATION_CITIZEN_TOPIC": citizens,
        "LAND_CITIZEN_TOPIC": citizens,
        "LAND_PARCEL_TOPIC": f"{prefix}.land.parcel.v1",
        "LAND_CONSUMER_GROUP": f"{prefix}.land",
        "BUSINESS_CITIZEN_TOPIC": citizens,
        "BUSINESS_ENTERPRISE_TOPIC": f"{prefix}.business.enterprise.v1",
        "BUSINESS_CONSUMER_GROUP": f"{prefix}.business",
        "GATEWAY_AUDIT_TOPIC": f"{prefix}.gateway.audit.v1",
        "GATEWAY_TRACKER_CONSUMER_GROUP": f"{prefix}.gateway-tracker",
    }
    env.pop("GATEWAY_DATABASE_URL", None)
    running = Stack(home, env)
    try:
        up = running.ndx("up", "--citizens", "300", "--parcels", "60", "--enterprises", "30")
        assert up.returncode == 0, up.stdout + up.stderr
        yield running
    finally:
        down = running.ndx("down")
        assert down.returncode == 0, down.stdout + down.stderr


def test_up_starts_the_gateway_after_the_registries(stack: Stack) -> None:
    status = stack.ndx("status")
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    for name in SERVICES:
        assert "healthy" in lines[name], status.stdout
    assert stack.env["NDX_GATEWAY_ADDRESS"] in lines["gateway"]
    assert stack.env["GATEWAY_TRACKER_CONSUMER_GROUP"] in status.stdout
    pids = {name: read_pid(stack.home / "run" / f"{name}.pid") for name in SERVICES}
    assert all(pid and is_alive(pid) for pid in pids.values())
    # The land and business registries are told how to reach the gateway as their agencies.
    environ = Path(f"/proc/{pids['land']}/environ")
    if environ.exists():
        variables = dict(v.split("=", 1) for v in environ.read_text().split("\0") if "=" in v)
        assert variables["LAND_GATEWAY_ADDRESS"] == stack.env["NDX_GATEWAY_ADDRESS"]
        assert variables["LAND_AGENCY_CERT_FILE"].endswith("pki/land-office.crt")
    assert (stack.home / "logs" / "gateway.log").stat().st_size > 0


def tax_lookup(stack: Stack) -> tuple[str, subprocess.CompletedProcess[str]]:
    """The tax authority reads the first sample citizen through the gateway."""
    seed = json.loads((stack.home / "seed.json").read_text())
    citizen = seed["samples"][0]["citizen_id"]
    call = stack.ndx(
        "call",
        "population/GetCitizen",
        json.dumps({"citizen_id": citizen}),
        "--as", "tax-authority", "--purpose", "tax-registration",
    )  # fmt: skip
    assert call.returncode == 0, call.stderr
    return citizen, call


def test_an_agency_calls_through_the_gateway_and_the_citizen_sees_it(stack: Stack) -> None:
    citizen, call = tax_lookup(stack)
    assert json.loads(call.stdout)["citizen_id"] == citizen
    assert "x-ndx-redacted" in call.stderr

    deadline = time.monotonic() + 30
    accesses: list[dict[str, object]] = []
    while not accesses and time.monotonic() < deadline:
        trail = stack.ndx("audit", "trail", citizen, "--json")
        assert trail.returncode == 0, trail.stderr
        accesses = [json.loads(line) for line in trail.stdout.splitlines()]
        time.sleep(0.3)
    [access] = accesses
    assert (access["agency"], access["purpose"], access["officer"]) == (
        "tax-authority",
        "tax-registration",
        "stack-test",
    )

    verify = stack.ndx("audit", "verify")  # the index `ndx up` keeps under NDX_HOME
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert str(stack.home / "data" / "gateway.db") in verify.stdout
    assert "intact" in verify.stdout
    audit_topic = stack.env["GATEWAY_AUDIT_TOPIC"]
    topic = stack.ndx("audit", "verify", "--from-kafka", "--topic", audit_topic)
    assert topic.returncode == 0, topic.stdout + topic.stderr
    # The lookup and each trail call (the portal's calls are audited too), on one chain.
    assert f"records in 1 chain (topic {audit_topic}" in topic.stdout
    assert "intact" in topic.stdout


async def test_every_service_serves_its_metrics(stack: Stack, scrape: Any) -> None:
    def port(route: str) -> int:
        return int(stack.env[f"NDX_{route}_METRICS_PORT"])

    citizen, _ = tax_lookup(stack)
    for route in ROUTES:
        metrics = await scrape(port(route))
        assert metrics.value("process_cpu_seconds_total") > 0, route
        assert citizen not in metrics.text, route
    # `ndx up` asked each registry's health over gRPC; the gateway counts the agency's call.
    for route in ("POPULATION", "LAND", "BUSINESS"):
        health = {"grpc_service": "grpc.health.v1.Health", "grpc_method": "Check"}
        assert (await scrape(port(route))).value("ndx_grpc_server_handled_total", **health) > 0
    gateway = await scrape(port("GATEWAY"))
    allowed = {"agency": "tax-authority", "purpose": "tax-registration", "decision": "allow"}
    assert gateway.value("ndx_gateway_policy_decisions_total", **allowed) >= 1


def test_down_stops_everything(stack: Stack) -> None:
    pids = [read_pid(stack.home / "run" / f"{name}.pid") for name in SERVICES]
    down = stack.ndx("down")
    assert down.returncode == 0, down.stderr
    assert "stopping gateway" in down.stdout
    assert not any(pid and is_alive(pid) for pid in pids)
    status = stack.ndx("status")
    assert all(f"{name}" in status.stdout for name in SERVICES)
    assert "healthy" not in status.stdout
