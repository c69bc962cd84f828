"""The gateway with its audit log's Kafka down: no call is answered unaudited, and once the
broker is back the gateway serves again by itself.

The gateway writes its audit records to a broker of this test's own, killed (SIGKILL) under a
steady stream of agency calls and started again under the running gateway. Each call carries
an officer id of its own, so that the audit topic, read back at the end, says which calls
have a record.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from ndx_gateway.admission import AUDIT_DOWN, NOT_AUDITED
from ndx_gateway.audit.chain import verify
from ndx_gateway.bootstrap import RunningGateway
from ndx_gateway.bootstrap import start as start_gateway
from sqlalchemy import text

from ndx.gateway.v1 import audit_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.procs import free_port
from ndx_runtime.kafka import read_topic

from ..probes import NOT_SERVING, SERVING, becomes, readiness
from . import figures

# A broker restart takes tens of seconds on a busy machine; `make chaos` restarts it ten times.
pytestmark = pytest.mark.timeout(300 * figures.scale())

STATE = Path(__file__).parents[2] / ".ndx"
ANSWERED = 100  # calls answered before the first outage, and after each
REFUSED = 20  # calls refused during each outage
CALLERS = 4
PURPOSE = "tax-registration"


@dataclass
class Setting:
    exchange: Exchange
    audit_broker: KafkaStack


@pytest.fixture
async def setting(tmp_path: Path, kafka_bootstrap: str, pki: Path) -> AsyncIterator[Setting]:
    """The registries on the shared broker, accepting only the gateway; and a broker of this
    test's own for the audit log, to be killed (never the shared one). Both start at once."""
    broker = KafkaStack(
        tmp_path / "audit-kafka",
        port=free_port(),
        controller_port=free_port(),
        libs=STATE / "kafka" / "libs",
        heap="256m",
    )
    broker_started = asyncio.create_task(asyncio.to_thread(broker.start, 180))
    exchange: Exchange | None = None
    try:
        exchange = await start_exchange(
            tmp_path,
            kafka_bootstrap,
            pki,
            f"test.{uuid.uuid4().hex[:10]}",
            sizes=Sizes(citizens=300, enterprises=50, parcels=50),
            allowed=frozenset({"service/gateway"}),
        )
        await broker_started
        yield Setting(exchange, broker)
    finally:
        await asyncio.gather(broker_started, return_exceptions=True)
        if exchange is not None:
            await exchange.stop()
        broker.kill()


@dataclass
class Agency:
    """The tax authority's system calling without pause, each call under an officer id of its
    own; outcomes by phase (a call in flight when the broker dies counts as 'during')."""

    stub: PopulationServiceStub
    citizen_ids: list[str]
    phase: str = "before"
    kills: int = 0
    answered: dict[str, list[str]] = field(default_factory=dict)
    refused_up_front: list[str] = field(default_factory=list)  # AUDIT_DOWN
    refused_not_audited: list[str] = field(default_factory=list)  # NOT_AUDITED
    other_errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    _next: int = 0
    _stopping: bool = False

    async def run(self) -> None:
        while not self._stopping:
            self._next += 1
            officer = f"officer-{self._next:06d}"
            request = pb.GetCitizenRequest(
                citizen_id=self.citizen_ids[self._next % len(self.citizen_ids)]
            )
            metadata = (("x-ndx-purpose", PURPOSE), ("x-ndx-officer", officer))
            phase, kills, started = self.phase, self.kills, time.monotonic()
            try:
                await self.stub.GetCitizen(request, metadata=metadata, timeout=30)
            except grpc.aio.AioRpcError as error:
                self.seconds.append(time.monotonic() - started)
                details = error.details() or ""
                if error.code() == grpc.StatusCode.UNAVAILABLE and details == AUDIT_DOWN:
                    self.refused_up_front.append(officer)
                elif error.code() == grpc.StatusCode.UNAVAILABLE and details == NOT_AUDITED:
                    self.refused_not_audited.append(officer)
                else:
                    self.other_errors.append(f"{error.code().name}: {details}")
                await asyncio.sleep(0.05)
                continue
            self.seconds.append(time.monotonic() - started)
            if self.kills != kills:
                phase = "during"
            self.answered.setdefault(phase, []).append(officer)

    def killing(self) -> None:
        self.phase = "during"
        self.kills += 1

    def stop(self) -> None:
        self._stopping = True

    def refused(self) -> int:
        return len(self.refused_up_front) + len(self.refused_not_audited)

    async def until(self, count: Callable[[], int], target: int, timeout: float = 180) -> None:
        async with asyncio.timeout(timeout):
            while count() < target:  # noqa: ASYNC110 (the agency's progress)
                await asyncio.sleep(0.05)


async def test_no_call_answered_unaudited(tmp_path: Path, setting: Setting) -> None:
    exchange, audit_broker = setting.exchange, setting.audit_broker
    # Without the data tracker's indexer: what is checked is the audit topic itself.
    gateway: RunningGateway = await start_gateway(
        exchange.gateway_settings(
            tmp_path,
            kafka_bootstrap_servers=audit_broker.bootstrap,
            audit_timeout_seconds=2.0,
            health_port=0,
            readiness_interval_seconds=0.2,
        ),
        index_audit=False,
    )
    exchange.gateway = gateway  # stopped with the exchange
    assert gateway.probes.health_port is not None and gateway.probes.readiness is not None
    health = gateway.probes.health_port.port
    ids = await exchange.population.db.read(
        lambda c: [r[0] for r in c.execute(text("select citizen_id from citizens limit 50"))]
    )
    stub = PopulationServiceStub(exchange.channel(gateway.port, "tax-authority"))
    agency = Agency(stub, ids)
    outages = figures.scale()
    to_not_ready: list[float] = []
    to_serving: list[float] = []
    assert await readiness(health) == SERVING
    callers = [asyncio.create_task(agency.run()) for _ in range(CALLERS)]
    try:
        await agency.until(lambda: len(agency.answered.get("before", ())), ANSWERED)
        for _ in range(outages):
            agency.killing()
            await asyncio.to_thread(audit_broker.kill)
            to_not_ready.append(await becomes(health, NOT_SERVING, timeout=180.0))
            assert "kafka" in gateway.probes.readiness.failing, gateway.probes.readiness.failing
            await agency.until(agency.refused, agency.refused() + REFUSED)

            restarted = time.monotonic()
            await asyncio.to_thread(audit_broker.start, 180)
            agency.phase = "after"
            await becomes(health, SERVING, timeout=180.0)
            to_serving.append(time.monotonic() - restarted)
            served = len(agency.answered.get("after", ()))
            await agency.until(lambda: len(agency.answered.get("after", ())), served + ANSWERED)
    finally:
        agency.stop()
        await asyncio.gather(*callers)
    assert agency.other_errors == []

    # The audit topic, read back from the broker that was killed: one record per answered
    # call; none for a call refused up front; at most one for a call refused because its
    # record was not acknowledged in time (it may have been stored after all).
    answered = [o for officers in agency.answered.values() for o in officers]
    topic = gateway.settings.audit_topic
    stored = await read_topic(audit_broker.bootstrap, topic, at_least=len(answered), timeout=120)
    records = [audit_pb2.AuditRecord.FromString(r.value) for r in stored if r.value]
    per_officer = Counter(r.officer for r in records)
    unaudited = [o for o in answered if per_officer[o] == 0]
    duplicated = sum(n - 1 for n in per_officer.values() if n > 1)
    audited_up_front = [o for o in agency.refused_up_front if per_officer[o]]
    stored_not_audited = [o for o in agency.refused_not_audited if per_officer[o]]
    assert unaudited == []
    assert duplicated == 0
    assert audited_up_front == []
    statuses = {r.officer: r.status for r in records}
    assert {statuses[o] for o in answered} == {"OK"}
    # What is stored still verifies as hash chains (a failed write starts a new chain).
    report = verify(r.value for r in stored if r.value)
    assert report.intact, report.breaks

    assert agency.refused() >= REFUSED * outages
    figures.record(
        "gateway-kafka-down",
        broken=(
            "the gateway's audit Kafka broker killed (SIGKILL) under a steady stream of agency "
            f"calls ({CALLERS} callers), {outages} time(s), and started again under the running "
            "gateway"
        ),
        checked=(
            "every call answered has exactly one audit record on the audit topic (read back), "
            "none refused up front has one; failed calls are UNAVAILABLE; readiness "
            "NOT_SERVING naming kafka, then SERVING and calls answered again without a restart; "
            "the stored records verify as hash chains"
        ),
        outages=outages,
        answered_before=len(agency.answered.get("before", ())),
        answered_during_outage=len(agency.answered.get("during", ())),
        answered_after=len(agency.answered.get("after", ())),
        refused_unavailable=agency.refused(),
        refused_up_front=len(agency.refused_up_front),
        refused_audit_not_acknowledged=len(agency.refused_not_audited),
        refused_whose_record_was_stored_anyway=len(stored_not_audited),
        other_errors=len(agency.other_errors),
        answered_without_audit_record=len(unaudited),
        audit_records=len(records),
        audit_chains=report.chains,
        duplicated=duplicated,
        seconds_to_not_ready=round(max(to_not_ready), 2),
        seconds_to_serving_after_broker_restart=round(max(to_serving), 2),
        slowest_call_seconds=round(max(agency.seconds), 2),
    )
