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

from ndx_runtime.kafka_connection import KafkaTarget
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.tls import channel_credentials

from .config import CliSettings, kafka_connection
from .stack.certs import DEFAULT_IDENTITIES, DevPki
from .stack.kafka import KafkaStack, ensure_kafka
from .stack.procs import StackError, is_alive, read_pid, stop_pid, tail


@dataclass(frozen=True)
class LocalService:
    """A service run as a background process by `ndx up`."""

    name: str  # also the name of its certificate under .ndx/pki
    module: str
    env_prefix: str
    route: str  # its address is CliSettings.address(route)
    database: str
    serves: str | None = None  # the registry's gRPC service, for the gateway's upstreams
    agency: str | None = None  # the agency a registry acts as when it calls the gateway
    upstreams: tuple[LocalService, ...] = ()  # the registries behind a gateway

    def database_url(self, home: Path) -> str:
        return f"sqlite+aiosqlite:///{home / 'data' / (self.database + '.db')}"

    def address(self, settings: CliSettings) -> str:
        return settings.address(self.route)

    def metrics_url(self, settings: CliSettings) -> str:
        """Where Prometheus scrapes the service (on the host it serves gRPC on)."""
        host = self.address(settings).rpartition(":")[0]
        return f"http://{host}:{settings.metrics_port(self.route)}/metrics"

    def env(self, settings: CliSettings, home: Path, bootstrap: str) -> dict[str, str]:
        pki = home / "pki"
        p = self.env_prefix
        host, _, port = self.address(settings).rpartition(":")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            f"{p}DATABASE_URL": self.database_url(home),
            f"{p}GRPC_HOST": host,
            f"{p}GRPC_PORT": port,
            f"{p}METRICS_PORT": str(settings.metrics_port(self.route)),
            f"{p}TLS_CERT_FILE": str(pki / f"{self.name}.crt"),
            f"{p}TLS_KEY_FILE": str(pki / f"{self.name}.key"),
            f"{p}TLS_CA_FILE": str(pki / "ca.crt"),
            f"{p}LOG_FORMAT": "json",
        }
        if self.serves is not None:
            # In dev the operator identity may call registries directly (`ndx call --via`);
            # agencies go through the gateway.
            env[f"{p}ALLOWED_IDENTITIES"] = json.dumps(["service/gateway", "operator/ndx-admin"])
        if self.agency is not None:
            env[f"{p}GATEWAY_ADDRESS"] = GATEWAY.address(settings)
            env[f"{p}AGENCY_CERT_FILE"] = str(pki / f"{self.agency}.crt")
            env[f"{p}AGENCY_KEY_FILE"] = str(pki / f"{self.agency}.key")
        if self.upstreams:
            env[f"{p}UPSTREAMS"] = json.dumps(
                {u.serves: u.address(settings) for u in self.upstreams if u.serves}
            )
        return env


POPULATION = LocalService(
    "population",
    "ndx_population",
    "POPULATION_",
    "population",
    "population",
    serves="ndx.population.v1.PopulationService",
)
LAND = LocalService(
    "land",
    "ndx_land",
    "LAND_",
    "land",
    "land",
    serves="ndx.land.v1.LandService",
    agency="land-office",
)
BUSINESS = LocalService(
    "business-registry",
    "ndx_business",
    "BUSINESS_",
    "business",
    "business",
    serves="ndx.business.v1.BusinessRegistryService",
    agency="business-office",
)
REGISTRIES = (POPULATION, LAND, BUSINESS)
GATEWAY = LocalService(
    "gateway", "ndx_gateway", "GATEWAY_", "gateway", "gateway", upstreams=REGISTRIES
)
# In start order: the gateway comes up once the registries it calls serve.
SERVICES = [*REGISTRIES, GATEWAY]


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
        start_service(service, settings, home, bootstrap)
    click.echo(next_steps(GATEWAY.address(settings), manifest))


def next_steps(gateway: str, manifest: Path) -> str:
    try:
        citizen = json.loads(manifest.read_text())["samples"][0]["citizen_id"]
    except (OSError, ValueError, LookupError):
        citizen = "CITIZEN_ID"
    trail = f"uv run ndx audit trail {citizen}"
    return f"""
NDX is up; agencies call the gateway at {gateway}. Try:
  uv run ndx call population/GetCitizen '{{"citizen_id": "{citizen}"}}' \\
      --as tax-authority --purpose tax-registration --officer hcm-tax-017
  {trail:<40} # who read this citizen's data, and why
  {"uv run ndx audit verify":<40} # check the audit log's hash chain
  {"make tour":<40} # the guided walk-through"""


def start_service(service: LocalService, settings: CliSettings, home: Path, bootstrap: str) -> None:
    pid_file = home / "run" / f"{service.name}.pid"
    address = service.address(settings)
    pid = read_pid(pid_file)
    if pid and is_alive(pid) and healthy(address, home):
        click.echo(f"  already running (pid {pid})")
        return
    log_file = home / "logs" / f"{service.name}.log"
    log = open(log_file, "ab")  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        [sys.executable, "-m", service.module],
        env=service.env(settings, home, bootstrap),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(
                f"{service.name} exited with {proc.returncode}; see {log_file}:\n"
                + tail(log_file, 15)
            )
        if healthy(address, home):
            click.echo(f"  serving on {address} (pid {proc.pid}), log {log_file}")
            click.echo(f"  metrics at {service.metrics_url(settings)}")
            return
        time.sleep(0.3)
    raise click.ClickException(f"{service.name} did not become healthy in 60 s; see {log_file}")


def healthy(address: str, home: Path) -> bool:
    """Asks the service's gRPC health endpoint, as the operator."""

    async def check() -> bool:
        pki = home / "pki"
        creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
        async with grpc.aio.secure_channel(address, creds) as channel:
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
    cluster: KafkaTarget | None = kafka_connection()
    if "kafka_bootstrap_servers" in ServiceSettings().model_fields_set:  # KAFKA_BOOTSTRAP_SERVERS
        click.echo(f"{'kafka':<22} external cluster at {cluster}")
    elif kafka.is_running():
        cluster = kafka.bootstrap
        click.echo(f"{'kafka':<22} running at {kafka.bootstrap}, SSL at {kafka.ssl_bootstrap}")
    else:
        cluster = None
        click.echo(f"{'kafka':<22} stopped")
    for service in SERVICES:
        pid = read_pid(home / "run" / f"{service.name}.pid")
        state = "stopped"
        if pid and is_alive(pid):
            address = service.address(settings)
            health = "healthy" if healthy(address, home) else "not ready"
            state = f"running (pid {pid}) on {address}, {health}"
        click.echo(f"{service.name:<22} {state}")
    if cluster:
        consumer_lag(cluster)


def consumer_groups() -> list[str]:
    """The consumer groups of the local services, as their settings name them: the mirroring
    registries, and the gateway's index of the audit log (the data tracker)."""
    from ndx_gateway.config import GatewaySettings

    from ndx_business.config import BusinessSettings
    from ndx_land.config import LandSettings

    return [
        LandSettings().consumer_group,
        BusinessSettings().consumer_group,
        GatewaySettings().tracker_consumer_group,
    ]


def consumer_lag(kafka: KafkaTarget) -> None:
    """Lag of each local consumer group, summed over partitions."""
    from .consumer_groups import group_status

    for group in consumer_groups():
        rows = asyncio.run(group_status(kafka, group))
        if not rows:
            click.echo(f"{group:<22} no committed offsets yet")
            continue
        lag = sum(r.lag for r in rows)
        topics = ", ".join(sorted({r.topic for r in rows}))
        click.echo(f"{group:<22} lag {lag} on {topics}")


def step(text: str) -> None:
    click.secho(f"» {text}", bold=True)
