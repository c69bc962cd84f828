"""Database unavailable: the registry reports not ready, refuses calls with UNAVAILABLE (not
UNKNOWN, not a hang), and recovers without a restart, losing and repeating nothing.

The population registry runs on a PostgreSQL server of its own, crashed with an immediate
shutdown (every server process quits at once) and started again under the running registry.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import text

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.stack.postgres import ENV_URL, PostgresStack
from ndx_cli.stack.procs import free_port
from ndx_population.bootstrap import start as start_population
from ndx_population.config import PopulationSettings
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials

from ..probes import NOT_SERVING, SERVING, becomes, readiness
from . import figures

WRITES = 100  # acknowledged before the first outage, and after each
REFUSED = 10  # refused writes, and as many reads, during each outage
CONCURRENCY = 4


@pytest.fixture
def database_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PostgresStack]:
    """A PostgreSQL server of this test's own, to be crashed (never the shared one)."""
    monkeypatch.delenv(ENV_URL, raising=False)
    # Not under pytest's tmp_path: as root, the server runs as 'postgres', which must reach it.
    root = Path(tempfile.mkdtemp(prefix="ndx-pg-down-"))
    root.chmod(0o755)
    stack = PostgresStack(root, port=free_port())
    try:
        yield stack
    finally:
        stack.kill()
        shutil.rmtree(root, ignore_errors=True)


async def durable_database(stack: PostgresStack, name: str) -> str:
    """A database whose commits are on disk before they are acknowledged, as in production:
    the local server trades that away (synchronous_commit=off), and a crash would then forget
    the last acknowledged commits, which is not what this test is about."""
    url = await asyncio.to_thread(stack.create_database, name)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.port}/postgres")
    try:
        await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    finally:
        await conn.close()
    return url


def citizen(n: int) -> citizen_pb2.Citizen:
    c = citizen_pb2.Citizen(
        citizen_id=f"0011900{n:05d}",  # Hà Nội, female, born 1990
        full_name=f"Nguyễn Thị Thử {n}",
        gender=citizen_pb2.GENDER_FEMALE,
        ethnicity="Kinh",
        marital_status=citizen_pb2.MARITAL_STATUS_SINGLE,
    )
    c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day = 1990, 5, 2
    c.permanent_address.ward_code = "00004"
    c.permanent_address.street = "Số 12 phố Đội Cấn"
    return c


def refused_for_database(error: grpc.aio.AioRpcError) -> bool:
    """UNAVAILABLE, its ErrorInfo naming the database as the dependency that is away."""
    if error.code() != grpc.StatusCode.UNAVAILABLE or "database" not in (error.details() or ""):
        return False
    status = details_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.metadata.get("dependency") == "database"
    return False


@dataclass
class Writers:
    """Agency-like clients registering citizens without pause, noting every outcome by phase:
    before the crash, while the database is away (or cut off by the crash), after it is back."""

    stub: PopulationServiceStub
    phase: str = "before"
    crashes: int = 0
    acknowledged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    other_errors: list[str] = field(default_factory=list)
    refusal_ms: list[float] = field(default_factory=list)
    _next: int = 0
    _stopping: bool = False

    async def run(self) -> None:
        while not self._stopping:
            self._next += 1
            request = pb.RegisterCitizenRequest(citizen=citizen(self._next))
            phase, crashes, started = self.phase, self.crashes, time.monotonic()
            try:
                reply = await self.stub.RegisterCitizen(request, timeout=20)
            except grpc.aio.AioRpcError as error:
                if self.crashes != crashes:
                    phase = "during"  # in flight when the database crashed
                self.refusal_ms.append((time.monotonic() - started) * 1000)
                if refused_for_database(error):
                    self.refused[phase].append(request.citizen.citizen_id)
                else:
                    self.other_errors.append(f"{error.code().name}: {error.details()}")
                await asyncio.sleep(0.05)
                continue
            self.acknowledged[phase].append(reply.citizen_id)

    def crashing(self) -> None:
        """The database is about to crash: calls from now on, and those in flight, are
        'during' the outage."""
        self.phase = "during"
        self.crashes += 1

    def stop(self) -> None:
        self._stopping = True

    def all_acknowledged(self) -> set[str]:
        return {i for ids in self.acknowledged.values() for i in ids}

    def all_refused(self) -> set[str]:
        return {i for ids in self.refused.values() for i in ids}

    async def until(self, count: Callable[[], int], target: int) -> None:
        async with asyncio.timeout(120):
            while count() < target:  # noqa: ASYNC110 (the writers' progress)
                await asyncio.sleep(0.05)


@pytest.fixture
async def population(
    database_server: PostgresStack, kafka_bootstrap: str, pki: Path
) -> AsyncIterator[RunningService]:
    await asyncio.to_thread(database_server.start)
    url = await durable_database(database_server, "population")
    settings = PopulationSettings(
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "population.crt",
        tls_key_file=pki / "population.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"operator/ndx-admin"}),
        citizen_topic=f"test.{uuid.uuid4().hex[:10]}.population.citizen.v1",
        outbox_poll_seconds=0.1,
        shutdown_grace_seconds=2,
        health_port=0,
        readiness_interval_seconds=0.2,
        readiness_timeout_seconds=2.0,
    )
    service = await start_population(settings)
    try:
        yield service
    finally:
        await service.stop()


async def test_database_down_then_back(
    population: RunningService, database_server: PostgresStack, kafka_bootstrap: str, pki: Path
) -> None:
    service = population
    assert service.probes.health_port is not None and service.probes.readiness is not None
    health = service.probes.health_port.port
    credentials = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
    outages = figures.scale()
    read_errors: list[str] = []
    read_refusals = 0
    to_not_ready: list[float] = []
    to_ready: list[float] = []
    async with grpc.aio.secure_channel(f"127.0.0.1:{service.host.port}", credentials) as channel:
        stub = PopulationServiceStub(channel)
        assert await readiness(health) == SERVING
        writers = Writers(stub)
        tasks = [asyncio.create_task(writers.run()) for _ in range(CONCURRENCY)]
        try:
            await writers.until(lambda: len(writers.acknowledged["before"]), WRITES)
            for _ in range(outages):
                # Crashed under the writers: the calls in flight are cut off.
                writers.crashing()
                await asyncio.to_thread(database_server.kill)
                to_not_ready.append(await becomes(health, NOT_SERVING))
                failing = service.probes.readiness.failing
                assert "database" in failing, failing

                # Reads are refused too, at once.
                for citizen_id in writers.acknowledged["before"][:REFUSED]:
                    read = pb.GetCitizenRequest(citizen_id=citizen_id)
                    try:
                        await stub.GetCitizen(read, timeout=20)
                        read_errors.append("served while the database was down")
                    except grpc.aio.AioRpcError as error:
                        if refused_for_database(error):
                            read_refusals += 1
                        else:
                            read_errors.append(f"{error.code().name}: {error.details()}")
                refused = len(writers.refused["during"])
                await writers.until(lambda: len(writers.refused["during"]), refused + REFUSED)

                # Back under the same process: from the moment it accepts connections, no
                # write fails (no stale pooled connection), and readiness follows.
                restarted = time.monotonic()
                await asyncio.to_thread(database_server.start)
                writers.phase = "after"
                await becomes(health, SERVING)
                to_ready.append(time.monotonic() - restarted)
                served = len(writers.acknowledged["after"])
                await writers.until(lambda: len(writers.acknowledged["after"]), served + WRITES)
        finally:
            writers.stop()
            await asyncio.gather(*tasks)

    assert writers.other_errors == [] and read_errors == []
    assert writers.refused["during"] and read_refusals == REFUSED * outages
    assert writers.refused["after"] == []

    # Nothing acknowledged is missing; what is stored beyond it was cut off while committing
    # (the caller told UNAVAILABLE)...
    stored = set(
        await service.db.read(
            lambda c: [r[0] for r in c.execute(text("select citizen_id from citizens"))]
        )
    )
    acknowledged = writers.all_acknowledged()
    lost = acknowledged - stored
    cut_off = stored - acknowledged
    assert not lost
    assert cut_off <= writers.all_refused()
    # ...and everything stored reached the topic exactly once, the relay having come back.
    topic = service.settings.citizen_topic  # type: ignore[attr-defined]
    records = await read_topic(kafka_bootstrap, topic, at_least=len(stored), timeout=120)
    delivered = Counter(r.key.decode() for r in records if r.key is not None)
    duplicated = sum(n - 1 for n in delivered.values() if n > 1)
    assert set(delivered) == stored
    assert duplicated == 0
    assert await service.relay.backlog() == (0, None)

    figures.record(
        "database-down",
        broken=(
            "the population registry's PostgreSQL crashed (immediate shutdown) under a steady "
            f"stream of writes, {outages} time(s), and was started again under the running "
            "registry"
        ),
        checked=(
            "readiness NOT_SERVING naming the database, then SERVING again by itself; every "
            "failed write and read refused with UNAVAILABLE naming the database, none hanging "
            "to its deadline; no write failing once the database is back; every acknowledged "
            "write stored, and everything stored published exactly once"
        ),
        outages=outages,
        writes_before=len(writers.acknowledged["before"]),
        writes_during=len(writers.acknowledged["during"]) + len(writers.refused["during"]),
        writes_after=len(writers.acknowledged["after"]),
        refused_unavailable=len(writers.all_refused()) + read_refusals,
        reads_refused_unavailable=read_refusals,
        other_errors=len(writers.other_errors) + len(read_errors),
        cut_off_while_committing_but_stored=len(cut_off),
        refusal_ms_median=round(statistics.median(writers.refusal_ms), 1),
        refusal_ms_max=round(max(writers.refusal_ms), 1),
        seconds_to_not_ready=round(max(to_not_ready), 2),
        seconds_to_ready_after_restart=round(max(to_ready), 2),
        events_written=len(stored),
        events_delivered=sum(delivered.values()),
        lost=len(lost) + len(stored - set(delivered)),
        duplicated=duplicated,
    )
