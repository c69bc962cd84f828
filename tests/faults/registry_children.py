"""Registries as child processes that a fault test can SIGKILL, and what a test reads of them
from outside: their databases' rows, their consumer groups' offsets, a topic's records."""

from __future__ import annotations

import asyncio
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import Table, func, select

from ndx.population.v1 import events_pb2
from ndx_business.config import BusinessSettings
from ndx_cli.consumer_groups import group_status
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_land.config import LandSettings
from ndx_population.config import PopulationSettings
from ndx_runtime.db import Database
from ndx_runtime.envelope import header
from ndx_runtime.kafka import read_topic
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.tls import channel_credentials

from .figures import scale

# Each registry's Python module (`python -m ...`).
MODULES = {
    PopulationSettings: "ndx_population",
    LandSettings: "ndx_land",
    BusinessSettings: "ndx_business",
}


def common(pki: Path, identity: str, url: str, kafka: str) -> dict[str, Any]:
    """Settings every registry of a fault test shares: its database, the shared broker, any
    free port, the operator allowed to call it directly, JSON logs (read back for its port)."""
    return {
        "database_url": url,
        "kafka_bootstrap_servers": kafka,
        "grpc_port": 0,
        "tls_cert_file": pki / f"{identity}.crt",
        "tls_key_file": pki / f"{identity}.key",
        "tls_ca_file": pki / "ca.crt",
        "allowed_identities": frozenset({"operator/ndx-admin"}),
        "outbox_poll_seconds": 0.1,
        "shutdown_grace_seconds": 5,
        "log_format": "json",
    }


def mirror_settings(
    kind: type[LandSettings] | type[BusinessSettings],
    pki: Path,
    url: str,
    kafka: str,
    *,
    citizen_topic: str,
    group: str,
    own_topic: str,
) -> LandSettings | BusinessSettings:
    """A land or business registry following `citizen_topic` in consumer group `group`,
    verifying nobody (no writes reach it here), publishing its own changes to `own_topic`."""
    if kind is LandSettings:
        return LandSettings(
            **common(pki, "land", url, kafka),
            citizen_topic=citizen_topic,
            consumer_group=group,
            parcel_topic=own_topic,
            gateway_address="",
        )
    return BusinessSettings(
        **common(pki, "business-registry", url, kafka),
        citizen_topic=citizen_topic,
        consumer_group=group,
        enterprise_topic=own_topic,
        gateway_address="",
    )


@dataclass
class Child:
    """One registry run as a child process, restarted as often as a test kills it."""

    settings: ServiceSettings
    logs: Path
    process: ServiceProcess | None = None
    port: int = 0
    metrics_url: str = ""  # when the settings give a metrics port
    starts: int = 0

    async def start(self) -> None:
        """Starts the registry and waits until it serves."""
        await self.launch()
        await self.serving()

    async def launch(self) -> None:
        """Starts the registry's process (which then takes a few seconds to import and start)."""
        self.starts += 1
        env = settings_env(self.settings, os.environ)
        module = MODULES[type(self.settings)]
        log_file = self.logs / f"{module}.{self.starts}.log"
        self.process = await ServiceProcess.start([sys.executable, "-m", module], env, log_file)

    async def serving(self) -> None:
        """Waits until the launched registry serves (its log says on which port)."""
        assert self.process is not None
        ready = await self.process.logged("ready", timeout=180)
        self.port = int(ready["port"])
        if self.settings.metrics_port is not None:
            self.metrics_url = (await self.process.logged("metrics serving"))["url"]

    async def kill(self) -> None:
        """SIGKILL: no shutdown step runs, whatever the process was doing."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, as at the end of a test; SIGKILL if it does not exit in time."""
        if self.process is None or self.process.proc.returncode is not None:
            return
        try:
            await self.process.terminate(timeout=60)
        finally:
            self.process.kill()


def admin_channel(pki: Path, port: int) -> grpc.aio.Channel:
    """An mTLS channel to a registry on a local port, as the operator."""
    creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", creds)


def _scrape(url: str) -> list[Sample]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


async def consumed(child: Child, outcome: str) -> int:
    """Records the child's consumers have counted with `outcome` (handled, skipped, ...) since
    it started, from its /metrics."""
    samples = await asyncio.to_thread(_scrape, child.metrics_url)
    return int(
        sum(
            s.value
            for s in samples
            if s.name == "ndx_events_consumed_total" and s.labels.get("outcome") == outcome
        )
    )


def sqlite_path(url: str) -> str:
    """The file of a SQLite database URL."""
    prefix = "sqlite+aiosqlite:///"
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)


async def rows(url: str, table: Table, *columns: str) -> list[tuple[Any, ...]]:
    """`columns` of every row of `table` in the database at `url` (another process's)."""
    db = Database.from_url(url)
    try:
        query = select(*(table.c[c] for c in columns))
        return await db.read(lambda c: [tuple(r) for r in c.execute(query)])
    finally:
        await db.dispose()


async def count(url: str, table: Table) -> int:
    """Rows in `table` of the database at `url`."""
    db = Database.from_url(url)
    try:
        query = select(func.count()).select_from(table)
        return await db.read(lambda c: int(c.execute(query).scalar_one()))
    finally:
        await db.dispose()


def patience() -> float:
    """Seconds to wait for a catch-up: generous (other tests share the machine), and longer
    when the scenario runs at a larger scale."""
    return 180.0 * scale()


async def wait_until_empty(url: str, table: Table) -> None:
    """Waits until `table` holds no row (an outbox the relay has published)."""
    async with asyncio.timeout(patience()):
        while await count(url, table):  # noqa: ASYNC110 (another process empties it)
            await asyncio.sleep(0.2)


async def caught_up(kafka: str, group: str, topic: str) -> None:
    """Waits until `group` has committed the end of every partition of `topic`."""
    async with asyncio.timeout(patience()):
        while True:
            status = await group_status(kafka, group, [topic])
            if status and all(p.lag == 0 for p in status if p.topic == topic):
                return
            await asyncio.sleep(0.3)


@dataclass(frozen=True)
class CitizenRecord:
    """One record of a citizen topic, as far as these tests look at it."""

    partition: int
    offset: int
    citizen_id: str
    version: int
    event_id: str


async def citizen_records(kafka: str, topic: str, at_least: int) -> list[CitizenRecord]:
    """Every record of a citizen topic (once at least `at_least` have arrived)."""
    found = await read_topic(kafka, topic, at_least=at_least, timeout=patience())
    out = []
    for r in found:
        assert r.value is not None, "no tombstones are written here"
        event = events_pb2.CitizenChanged.FromString(r.value)
        event_id = header(list(r.headers or ()), "ce_id") or ""
        out.append(CitizenRecord(r.partition, r.offset, event.citizen_id, event.version, event_id))
    return out


def grouped(pairs: list[tuple[Any, ...]]) -> dict[Any, set[Any]]:
    """(key, value) pairs as the set of values of each key."""
    found: dict[Any, set[Any]] = {}
    for key, value in pairs:
        found.setdefault(key, set()).add(value)
    return found
