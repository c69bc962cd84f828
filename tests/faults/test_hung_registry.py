"""A hung registry: the gateway's upstream deadline and its in-flight ceiling per registry keep
the other registries responsive, and the hung one's calls end instead of hanging.

The land registry runs as a process of its own and is frozen with SIGSTOP (its port still
accepts connections; nothing answers) while agencies keep calling it through the gateway
beyond the ceiling, and lookups of the population registry go through the same gateway.
After SIGCONT, land is served again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from ndx_gateway.bootstrap import RunningGateway
from ndx_gateway.bootstrap import start as start_gateway
from ndx_gateway.config import GatewaySettings
from sqlalchemy import text

from ndx.gateway.v1 import audit_pb2
from ndx.land.v1 import land_service_pb2
from ndx.land.v1.land_service_pb2_grpc import LandServiceStub
from ndx.population.v1 import population_service_pb2
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.exchange import Sizes, seed_population
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.bootstrap import start as start_population
from ndx_population.config import PopulationSettings
from ndx_runtime.db import Database
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials

from . import figures

LAND = "ndx.land.v1.LandService"
POPULATION = "ndx.population.v1.PopulationService"
MAX_IN_FLIGHT = 8  # the gateway's ceiling per registry service, here
UPSTREAM_TIMEOUT = 3.0  # the gateway's cap on an upstream call's deadline, here
CALLER_TIMEOUT = 30.0  # what the agencies give each call: far beyond the gateway's cap
LAND_CALLERS = 2 * MAX_IN_FLIGHT
LOOKUPS = 200  # population lookups while land hangs
LOOKUP_CALLERS = 4
SIZES = Sizes(citizens=300, enterprises=0, parcels=100)


@dataclass
class Setting:
    gateway: RunningGateway
    population: RunningService
    land: ServiceProcess
    pki: Path
    parcel_ids: list[str]
    citizen_ids: list[str]
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def channel(self, identity: str) -> grpc.aio.Channel:
        creds = channel_credentials(
            self.pki / "ca.crt", self.pki / f"{identity}.crt", self.pki / f"{identity}.key"
        )
        channel = grpc.aio.secure_channel(f"127.0.0.1:{self.gateway.port}", creds)
        self.channels.append(channel)
        return channel


async def ids(url: str, sql: str) -> list[str]:
    db = Database.from_url(url)
    try:
        return await db.read(lambda c: [str(r[0]) for r in c.execute(text(sql))])
    finally:
        await db.dispose()


@pytest.fixture
async def setting(tmp_path: Path, kafka_bootstrap: str, pki: Path) -> AsyncIterator[Setting]:
    """Population in this process, land in a process of its own, and the gateway in front of
    both, with a small ceiling and a short upstream deadline."""
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    urls = {n: f"sqlite+aiosqlite:///{tmp_path / n}.db" for n in ("population", "land")}
    await seed_population(urls["population"], SIZES)
    await seed_land(urls["land"], SIZES.parcels, SIZES.seed, SIZES.citizens)
    common = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "grpc_port": 0,
        "tls_ca_file": pki / "ca.crt",
        "allowed_identities": frozenset({"service/gateway"}),
        "outbox_poll_seconds": 0.1,
        "shutdown_grace_seconds": 2,
    }
    land_settings = LandSettings(
        **common,
        database_url=urls["land"],
        tls_cert_file=pki / "land.crt",
        tls_key_file=pki / "land.key",
        parcel_topic=f"{prefix}.land.parcel.v1",
        citizen_topic=f"{prefix}.population.citizen.v1",
        consumer_group=f"{prefix}.land",
        gateway_address="",  # no writes here: nothing to verify
        log_format="json",
    )
    land = await ServiceProcess.start(
        [sys.executable, "-m", "ndx_land"],
        settings_env(land_settings, os.environ),
        tmp_path / "land.log",
    )
    try:
        # Population starts here while land starts in its process.
        population = await start_population(
            PopulationSettings(
                **common,
                database_url=urls["population"],
                tls_cert_file=pki / "population.crt",
                tls_key_file=pki / "population.key",
                citizen_topic=f"{prefix}.population.citizen.v1",
            )
        )
        try:
            land_port = (await land.logged("grpc serving", timeout=120))["port"]
            gateway = await start_gateway(
                GatewaySettings(
                    kafka_bootstrap_servers=kafka_bootstrap,
                    grpc_port=0,
                    tls_cert_file=pki / "gateway.crt",
                    tls_key_file=pki / "gateway.key",
                    tls_ca_file=pki / "ca.crt",
                    upstreams={
                        POPULATION: f"127.0.0.1:{population.host.port}",
                        LAND: f"127.0.0.1:{land_port}",
                    },
                    audit_topic=f"{prefix}.gateway.audit.v1",
                    audit_partitions=1,
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
                    shutdown_grace_seconds=2,
                    upstream_max_in_flight=MAX_IN_FLIGHT,
                    upstream_timeout_seconds=UPSTREAM_TIMEOUT,
                ),
                index_audit=False,
            )
            running = Setting(
                gateway,
                population,
                land,
                pki,
                await ids(urls["land"], "select parcel_id from parcels limit 50"),
                await ids(urls["population"], "select citizen_id from citizens limit 50"),
            )
            try:
                yield running
            finally:
                for channel in running.channels:
                    await channel.close(grace=None)
                await gateway.stop()
        finally:
            await population.stop()
    finally:
        land.proc.send_signal(signal.SIGCONT)  # a stopped process cannot take its SIGKILL late
        land.kill()
        await land.wait()


def busy_reason(error: grpc.aio.AioRpcError) -> str:
    status = details_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


@dataclass
class LandOffice:
    """The land office calling land without pause: each call's status and duration."""

    stub: LandServiceStub
    parcel_ids: list[str]
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        n = 0
        while not self.stopping:
            n += 1
            request = land_service_pb2.GetParcelRequest(
                parcel_id=self.parcel_ids[n % len(self.parcel_ids)]
            )
            started = time.monotonic()
            try:
                await self.stub.GetParcel(request, metadata=LAND_OFFICE, timeout=CALLER_TIMEOUT)
                outcome = "OK"
            except grpc.aio.AioRpcError as error:
                outcome = error.code().name
                if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    outcome += f"/{busy_reason(error)}"
            self.seconds.append(time.monotonic() - started)
            self.outcomes[outcome] += 1
            if outcome != "OK":
                await asyncio.sleep(0.2)  # a client that backs off a little

    async def until(self, outcome: str, count: int) -> None:
        """Waits until `count` calls ended with `outcome`, or any call with an unexpected one."""
        async with asyncio.timeout(120):
            while self.outcomes[outcome] < count:
                if set(self.outcomes) - EXPECTED:
                    return
                await asyncio.sleep(0.05)


EXPECTED = {"OK", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED/UPSTREAM_BUSY"}
LAND_OFFICE = (("x-ndx-purpose", "land-registration"), ("x-ndx-officer", "officer-land"))
TAX = (("x-ndx-purpose", "tax-registration"), ("x-ndx-officer", "officer-tax"))


async def lookups(stub: PopulationServiceStub, citizen_ids: list[str], n: int) -> list[float]:
    """`n` population lookups through the gateway, a few at a time; each one's seconds."""
    seconds: list[float] = []
    pending = iter(range(n))

    async def caller() -> None:
        for i in pending:
            request = population_service_pb2.GetCitizenRequest(
                citizen_id=citizen_ids[i % len(citizen_ids)]
            )
            started = time.monotonic()
            await stub.GetCitizen(request, metadata=TAX, timeout=CALLER_TIMEOUT)
            seconds.append(time.monotonic() - started)

    await asyncio.gather(*(caller() for _ in range(LOOKUP_CALLERS)))
    return seconds


def ms(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000, 1)


async def test_a_hung_registry_holds_a_bounded_share_of_the_gateway(setting: Setting) -> None:
    tax = PopulationServiceStub(setting.channel("tax-authority"))
    office = LandOffice(LandServiceStub(setting.channel("land-office")), setting.parcel_ids)
    lookups_n = LOOKUPS * figures.scale()
    registry = setting.gateway.metrics.runtime.registry

    # Both registries answer.
    before = await lookups(tax, setting.citizen_ids, 50)
    await office.stub.GetParcel(
        land_service_pb2.GetParcelRequest(parcel_id=setting.parcel_ids[0]),
        metadata=LAND_OFFICE,
        timeout=CALLER_TIMEOUT,
    )

    setting.land.proc.send_signal(signal.SIGSTOP)
    callers = [asyncio.create_task(office.run()) for _ in range(LAND_CALLERS)]
    try:
        # The ceiling is reached: the calls beyond it are refused at once.
        await office.until("RESOURCE_EXHAUSTED/UPSTREAM_BUSY", MAX_IN_FLIGHT)
        # Meanwhile population lookups through the same gateway: every one served.
        during = await lookups(tax, setting.citizen_ids, lookups_n)
        # The hung registry's calls end at the gateway's deadline, not the caller's.
        await office.until("DEADLINE_EXCEEDED", MAX_IN_FLIGHT)
        in_flight = registry.get_sample_value("ndx_gateway_upstream_in_flight", {"upstream": LAND})
    finally:
        office.stopping = True
        await asyncio.gather(*callers)
    hung = Counter(office.outcomes)
    hung_seconds = max(office.seconds)

    setting.land.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    async with asyncio.timeout(120):
        while True:
            try:
                await office.stub.GetParcel(
                    land_service_pb2.GetParcelRequest(parcel_id=setting.parcel_ids[1]),
                    metadata=LAND_OFFICE,
                    timeout=CALLER_TIMEOUT,
                )
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)
    served_again = time.monotonic() - resumed
    office.outcomes.clear()
    office.stopping = False
    callers = [asyncio.create_task(office.run()) for _ in range(4)]
    await office.until("OK", 20)
    office.stopping = True
    await asyncio.gather(*callers)

    assert set(hung) == {"DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED/UPSTREAM_BUSY"}, hung
    assert hung_seconds < CALLER_TIMEOUT  # ended by the gateway, never hanging to the caller
    assert in_flight is not None and in_flight <= MAX_IN_FLIGHT
    assert len(during) == lookups_n
    assert set(office.outcomes) == {"OK"}, office.outcomes

    # Refusals are counted and audited like every call: one record per call, with its status.
    refused = hung["RESOURCE_EXHAUSTED/UPSTREAM_BUSY"]
    counted = registry.get_sample_value(
        "ndx_gateway_upstream_busy_refusals_total", {"upstream": LAND}
    )
    assert counted == refused
    topic = setting.gateway.settings.audit_topic
    records = [
        audit_pb2.AuditRecord.FromString(r.value)
        for r in await read_topic(
            setting.gateway.settings.kafka, topic, at_least=refused, timeout=120
        )
        if r.value
    ]
    land_statuses = Counter(r.status for r in records if r.method == f"{LAND}/GetParcel")
    assert land_statuses["RESOURCE_EXHAUSTED"] == refused
    assert land_statuses["DEADLINE_EXCEEDED"] == hung["DEADLINE_EXCEEDED"]
    busy = [r for r in records if r.status == "RESOURCE_EXHAUSTED"]
    assert {r.decision for r in busy} == {audit_pb2.DECISION_ALLOW}

    figures.record(
        "hung-registry",
        broken=(
            "the land registry's process frozen (SIGSTOP) under a stream of calls through the "
            f"gateway ({LAND_CALLERS} callers, ceiling {MAX_IN_FLIGHT} in flight, upstream "
            f"deadline {UPSTREAM_TIMEOUT:g} s, callers' deadline {CALLER_TIMEOUT:g} s), then "
            "resumed (SIGCONT)"
        ),
        checked=(
            "every population lookup through the same gateway served; land calls end with "
            "DEADLINE_EXCEEDED at the gateway's deadline or RESOURCE_EXHAUSTED (UPSTREAM_BUSY) "
            "at once, none hanging to the caller's deadline; refusals counted and audited; "
            "land served again after SIGCONT"
        ),
        population_lookups=len(during),
        population_failed=lookups_n - len(during),
        population_p50_ms_before=ms(before, 50),
        population_p99_ms_before=ms(before, 99),
        population_p50_ms_while_land_hung=ms(during, 50),
        population_p99_ms_while_land_hung=ms(during, 99),
        land_calls_while_hung=sum(hung.values()),
        land_deadline_exceeded=hung["DEADLINE_EXCEEDED"],
        land_refused_upstream_busy=refused,
        land_other_errors=sum(hung.values()) - hung["DEADLINE_EXCEEDED"] - refused,
        land_slowest_call_seconds=round(hung_seconds, 2),
        seconds_to_land_served_after_sigcont=round(served_again, 2),
        land_calls_after_sigcont=office.outcomes["OK"],
    )
