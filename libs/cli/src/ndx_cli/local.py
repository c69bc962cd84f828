"""`ndx up` / `ndx down` / `ndx status`: the local system on one machine, without Docker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ndx_runtime.tls import channel_credentials

from .config import CliSettings
from .stack.certs import DEFAULT_IDENTITIES, DevPki
from .stack.kafka import KafkaStack, ensure_kafka
from .stack.procs import StackError, is_alive, read_pid, stop_pid


@dataclass(frozen=True)
class LocalService:
    """A registry run as a background process by `ndx up`."""

    name: str
    module: str
    env_prefix: str
    address: str
    database: str

    def database_url(self, home: Path) -> str:
        return f"sqlite+aiosqlite:///{home / 'data' / (self.database + '.db')}"

    def env(self, home: Path, bootstrap: str) -> dict[str, str]:
        pki = home / "pki"
        p = self.env_prefix
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            f"{p}DATABASE_URL": self.database_url(home),
            f"{p}TLS_CERT_FILE": str(pki / f"{self.name}.crt"),
            f"{p}TLS_KEY_FILE": str(pki / f"{self.name}.key"),
            f"{p}TLS_CA_FILE": str(pki / "ca.crt"),
            # In dev the operator identity may call registries directly (`ndx call --via`).
            f"{p}ALLOWED_IDENTITIES": json.dumps(["service/gateway", "operator/ndx-admin"]),
            f"{p}LOG_FORMAT": "json",
        }


POPULATION = LocalService(
    "population", "ndx_population", "POPULATION_", "127.0.0.1:50061", "population"
)
LAND = LocalService("land", "ndx_land", "LAND_", "127.0.0.1:50062", "land")
BUSINESS = LocalService(
    "business-registry", "ndx_business", "BUSINESS_", "127.0.0.1:50063", "business"
)
SERVICES = [POPULATION, LAND, BUSINESS]


def up(settings: CliSettings, *, citizens: int, parcels: int, enterprises: int) -> None:
    home = settings.home.resolve()
    (home / "logs").mkdir(parents=True, exist_ok=True)
    (home / "run").mkdir(parents=True, exist_ok=True)
    step("certificates")
    DevPki(home / "pki").ensure(DEFAULT_IDENTITIES)
    step("kafka")
    try:
        bootstrap = ensure_kafka(home)
    except StackError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"  broker at {bootstrap}")
    step("seed")
    from .seeding import seed_business, seed_land, seed_population

    manifest = home / "seed.json"
    asyncio.run(
        seed_population(
            citizens, 2025, POPULATION.database_url(home), if_empty=True, manifest=manifest
        )
    )
    asyncio.run(seed_land(parcels, LAND.database_url(home), manifest, if_empty=True))
    asyncio.run(seed_business(enterprises, BUSINESS.database_url(home), manifest, if_empty=True))
    for service in SERVICES:
        step(service.name)
        start_service(service, home, bootstrap)
    click.echo(
        "\nNDX is up. Try: uv run ndx call population/GetCitizen "
        '\'{"citizen_id": "..."}\' --via population --as ndx-admin'
    )


def start_service(service: LocalService, home: Path, bootstrap: str) -> None:
    pid_file = home / "run" / f"{service.name}.pid"
    pid = read_pid(pid_file)
    if pid and is_alive(pid) and healthy(service, home):
        click.echo(f"  already running (pid {pid})")
        return
    log = open(home / "logs" / f"{service.name}.log", "ab")  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        [sys.executable, "-m", service.module],
        env=service.env(home, bootstrap),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(
                f"{service.name} exited with {proc.returncode}; "
                f"see {home / 'logs' / service.name}.log"
            )
        if healthy(service, home):
            click.echo(f"  serving on {service.address} (pid {proc.pid})")
            return
        time.sleep(0.3)
    raise click.ClickException(f"{service.name} did not become healthy in 60 s")


def healthy(service: LocalService, home: Path) -> bool:
    """Asks the service's gRPC health endpoint, as the operator."""

    async def check() -> bool:
        pki = home / "pki"
        creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
        async with grpc.aio.secure_channel(service.address, creds) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.aio.AioRpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return asyncio.run(check())


def down(settings: CliSettings) -> None:
    home = settings.home.resolve()
    for service in reversed(SERVICES):
        pid_file = home / "run" / f"{service.name}.pid"
        pid = read_pid(pid_file)
        if pid and is_alive(pid):
            step(f"stopping {service.name}")
            stop_pid(pid)
        pid_file.unlink(missing_ok=True)
    kafka = KafkaStack(home)
    if kafka.is_running():
        step("stopping kafka")
        kafka.stop()
    click.echo("stopped; data kept in " + str(home))


def status(settings: CliSettings) -> None:
    home = settings.home.resolve()
    kafka = KafkaStack(home)
    click.echo(f"kafka                  {'running' if kafka.is_running() else 'stopped'}")
    for service in SERVICES:
        pid = read_pid(home / "run" / f"{service.name}.pid")
        state = "stopped"
        if pid and is_alive(pid):
            state = f"running (pid {pid}) " + ("healthy" if healthy(service, home) else "not ready")
        click.echo(f"{service.name:<22} {state}")
    if kafka.is_running():
        consumer_lag(kafka.bootstrap)


# Consumer groups of the local registries that mirror other registries' events.
GROUPS = ("ndx-land", "ndx-business-registry")


def consumer_lag(bootstrap: str) -> None:
    """Lag of each mirroring registry's consumer group, summed over partitions."""
    from .consumer_groups import group_status

    for group in GROUPS:
        rows = asyncio.run(group_status(bootstrap, group))
        if not rows:
            click.echo(f"{group:<22} no committed offsets yet")
            continue
        lag = sum(r.lag for r in rows)
        topics = ", ".join(sorted({r.topic for r in rows}))
        click.echo(f"{group:<22} lag {lag} on {topics}")


def step(text: str) -> None:
    click.secho(f"» {text}", bold=True)
