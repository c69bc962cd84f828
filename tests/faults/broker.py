"""A Kafka broker of a fault test's own, and the three registries as child processes on it.

The shared test broker is never stopped: a test that kills a broker starts this one in its
temporary folder on free ports, from the same jars. The registries run as `ndx up` runs them
(`python -m ndx_<registry>`), each with its own SQLite file seeded from one seed the way the
exchange seeds them, and their own topics and consumer groups (a name prefix). Land and
business do not verify citizens through a gateway: nothing here writes to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, Table, func, select

from ndx_business.config import BusinessSettings
from ndx_business.seed import seed_business
from ndx_cli.exchange import Sizes, change_topics, seed_population
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.procs import free_port
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.config import PopulationSettings
from ndx_runtime.db import Database
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.tls import channel_credentials

from ..probes import SERVING, readiness

STATE = Path(__file__).parents[2] / ".ndx"
MODULES = {"population": "ndx_population", "land": "ndx_land", "business": "ndx_business"}
# The certificate each registry presents (named as the dev PKI names them).
IDENTITIES = {"population": "population", "land": "land", "business": "business-registry"}


def own_broker(folder: Path) -> KafkaStack:
    """A single-node broker under `folder` on free ports, to be killed by the test (not
    started yet)."""
    return KafkaStack(
        folder,
        port=free_port(),
        controller_port=free_port(),
        libs=STATE / "kafka" / "libs",
        heap="256m",
    )


@dataclass
class Registry:
    """One registry process and where it listens."""

    name: str
    settings: ServiceSettings
    process: ServiceProcess
    port: int = 0
    health_port: int = 0
    metrics_url: str = ""

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    async def ready(self) -> None:
        """Waits until the registry has started all it runs (its consumer too)."""
        self.port = (await self.process.logged("ready", timeout=120))["port"]
        self.health_port = (await self.process.logged("health serving", timeout=120))["port"]
        self.metrics_url = (await self.process.logged("metrics serving", timeout=120))["url"]

    async def metric(self, name: str) -> float:
        """The value of sample `name` on the registry's /metrics, as Prometheus scrapes it."""

        def scrape() -> float:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as reply:
                text = reply.read().decode()
            families = text_string_to_metric_families(text)
            return sum(s.value for f in families for s in f.samples if s.name == name)

        return await asyncio.to_thread(scrape)

    async def readiness(self) -> bool:
        """Whether the registry's probe says it is ready (as Kubernetes would ask)."""
        return await readiness(self.health_port) == SERVING


class Registries:
    """Population, land and business registries as child processes on one broker."""

    def __init__(self, registries: dict[str, Registry], pki: Path, topics: dict[str, str]):
        self.by_name = registries
        self.pki = pki
        self.topics = topics
        self.channels: list[grpc.aio.Channel] = []

    @property
    def population(self) -> Registry:
        return self.by_name["population"]

    @property
    def land(self) -> Registry:
        return self.by_name["land"]

    @property
    def business(self) -> Registry:
        return self.by_name["business"]

    def channel(self, registry: Registry) -> grpc.aio.Channel:
        """A channel to the registry as the operator (closed on stop)."""
        creds = channel_credentials(
            self.pki / "ca.crt", self.pki / "ndx-admin.crt", self.pki / "ndx-admin.key"
        )
        channel = grpc.aio.secure_channel(f"127.0.0.1:{registry.port}", creds)
        self.channels.append(channel)
        return channel

    async def stop(self) -> None:
        """SIGTERM to each; they drain and exit 0 (asserted). Killed if one does not exit in
        time; one that ended before gives its exit code."""
        for channel in self.channels:
            await channel.close(grace=None)

        async def stopped(process: ServiceProcess) -> int:
            if process.proc.returncode is not None:
                return process.proc.returncode
            try:
                return await process.terminate(timeout=60)
            finally:
                process.kill()

        codes = await asyncio.gather(*(stopped(r.process) for r in self.by_name.values()))
        failed = {n: c for n, c in zip(self.by_name, codes, strict=True) if c != 0}
        assert not failed, f"registries exited with {failed}: see {self.log_files()}"

    def kill(self) -> None:
        for registry in self.by_name.values():
            registry.process.kill()

    def log_files(self) -> list[Path]:
        return [r.process.log_file for r in self.by_name.values()]


def _settings(
    name: str, data: Path, kafka: str, pki: Path, prefix: str, topics: dict[str, str]
) -> ServiceSettings:
    identity = IDENTITIES[name]
    common: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{data / name}.db",
        "kafka_bootstrap_servers": kafka,
        "grpc_port": 0,
        "health_port": 0,
        "metrics_port": 0,
        "readiness_interval_seconds": 0.5,
        "tls_cert_file": pki / f"{identity}.crt",
        "tls_key_file": pki / f"{identity}.key",
        "tls_ca_file": pki / "ca.crt",
        "allowed_identities": frozenset({"operator/ndx-admin"}),
        "outbox_poll_seconds": 0.1,
        "shutdown_grace_seconds": 20,
        "log_format": "json",
    }
    if name == "population":
        return PopulationSettings(**common, citizen_topic=topics["citizen"])
    mirror: dict[str, Any] = {
        "citizen_topic": topics["citizen"],
        "consumer_group": f"{prefix}.{name}",
        "gateway_address": "",  # nothing writes to them here: no citizens to verify
    }
    if name == "land":
        return LandSettings(**common, **mirror, parcel_topic=topics["parcel"])
    return BusinessSettings(**common, **mirror, enterprise_topic=topics["enterprise"])


async def seed(settings: dict[str, ServiceSettings], sizes: Sizes) -> None:
    """Seeds the three databases from one seed, as the exchange does."""
    urls = {n: s.database_url for n, s in settings.items()}
    await seed_population(urls["population"], sizes)
    await seed_land(urls["land"], sizes.parcels, sizes.seed, sizes.citizens)
    await seed_business(urls["business"], sizes.enterprises, sizes.seed, sizes.citizens)


async def start_registries(
    settings: dict[str, ServiceSettings], data: Path, pki: Path, topics: dict[str, str]
) -> Registries:
    """Starts the registries (logs under `data`) and waits until they serve."""
    started: dict[str, Registry] = {}
    try:
        for name, module in MODULES.items():
            env = settings_env(settings[name], os.environ)
            process = await ServiceProcess.start(
                [sys.executable, "-m", module], env, data / f"{name}.log"
            )
            started[name] = Registry(name, settings[name], process)
        await asyncio.gather(*(r.ready() for r in started.values()))
    except BaseException:
        for registry in started.values():
            registry.process.kill()
        raise
    return Registries(started, pki, topics)


@contextlib.asynccontextmanager
async def registries_on_own_broker(
    data: Path, pki: Path, prefix: str, sizes: Sizes
) -> AsyncIterator[tuple[KafkaStack, Registries]]:
    """A broker of its own under `data` and the three registries on it, seeded and serving;
    all killed on the way out. The broker starts while the databases are seeded."""
    broker = own_broker(data / "broker")
    topics = change_topics(prefix)
    settings = {n: _settings(n, data, broker.bootstrap, pki, prefix, topics) for n in MODULES}
    booting = asyncio.ensure_future(asyncio.to_thread(broker.start, 120))
    registries: Registries | None = None
    try:
        await seed(settings, sizes)
        await booting
        registries = await start_registries(settings, data, pki, topics)
        yield broker, registries
    finally:
        if registries is not None:
            registries.kill()
        with contextlib.suppress(Exception):
            await booting
        await asyncio.to_thread(broker.kill)


async def query(url: str, read: Any) -> Any:
    """`read(connection)` on the database at `url`, from this process (SQLite in WAL mode lets
    it read beside the registry writing)."""
    db = Database.from_url(url)
    try:
        return await db.read(read)
    finally:
        await db.dispose()


def rows(table: Table) -> Any:
    """A reader counting the rows of `table`."""

    def count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    return count
