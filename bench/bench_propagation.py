"""Propagation of population events into the land and business registries.

1. Latency: deaths recorded through the population registry's gRPC API at a steady rate;
   for each death, the time until every parcel / enterprise of that citizen carries it and
   its change is on Kafka (the mirror's event record timestamp minus the population's
   `update_time`, same clock).
2. Throughput: a backlog of population events already on the topic when the land and
   business registries start; events/s each consumer group works through it.

Each registry runs as its own process on its own SQLite database, seeded from one seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
from common import STATE, kafka_bootstrap, percentile, publish, write_result
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import Table, select

from ndx.business.v1 import events_pb2 as business_events
from ndx.common.v1 import types_pb2
from ndx.land.v1 import events_pb2 as land_events
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_business.adapters.tables import representatives
from ndx_business.seed import seed_business
from ndx_cli.consumer_groups import group_status
from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki
from ndx_land.adapters.tables import holders
from ndx_land.seed import seed_land
from ndx_population.adapters.bulk_load import load_rows
from ndx_population.adapters.tables import metadata as population_metadata
from ndx_population.config import SOURCE
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database, create_schema
from ndx_runtime.envelope import EventRecord, change_event
from ndx_runtime.kafka import read_topic
from ndx_runtime.tls import channel_credentials
from ndx_runtime.topics import ensure_topics, entity_topic

SEED = 2025
PORTS = {"population": 50171, "land": 50172, "business-registry": 50173}


@dataclass(frozen=True)
class Registry:
    name: str
    module: str
    prefix: str
    database: str


POPULATION = Registry("population", "ndx_population", "POPULATION_", "population")
LAND = Registry("land", "ndx_land", "LAND_", "land")
BUSINESS = Registry("business-registry", "ndx_business", "BUSINESS_", "business")


class Run:
    """Topics, groups and databases of one benchmark run."""

    def __init__(self, tmp: Path, bootstrap: str, pki: Path) -> None:
        self.tmp, self.bootstrap, self.pki = tmp, bootstrap, pki
        self.tag = uuid.uuid4().hex[:8]

    def url(self, r: Registry) -> str:
        return f"sqlite+aiosqlite:///{self.tmp / r.database}.db"

    def env(self, r: Registry, citizen_topic: str, group: str) -> dict[str, str]:
        p = r.prefix
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            f"{p}DATABASE_URL": self.url(r),
            f"{p}GRPC_PORT": str(PORTS[r.name]),
            f"{p}TLS_CERT_FILE": str(self.pki / f"{r.name}.crt"),
            f"{p}TLS_KEY_FILE": str(self.pki / f"{r.name}.key"),
            f"{p}TLS_CA_FILE": str(self.pki / "ca.crt"),
            f"{p}ALLOWED_IDENTITIES": json.dumps(["service/gateway"]),
            f"{p}CITIZEN_TOPIC": citizen_topic,
            f"{p}CONSUMER_GROUP": group,
            f"{p}PARCEL_TOPIC": f"bench.{self.tag}.land.parcel",
            f"{p}ENTERPRISE_TOPIC": f"bench.{self.tag}.business.enterprise",
            f"{p}LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        }

    @contextmanager
    def processes(
        self, registries: list[Registry], citizen_topic: str, group: str
    ) -> Iterator[None]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", r.module],
                env=self.env(r, citizen_topic, f"{group}.{r.name}"),
            )
            for r in registries
        ]
        try:
            yield
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)


async def seed(run: Run, citizens: int, parcels: int, enterprises: int) -> None:
    db = Database.from_url(run.url(POPULATION))
    await create_schema(db.engine, population_metadata)
    await load_rows(db.engine, rows_from_child(SEED, citizens, db.engine.dialect.name))
    await db.dispose()
    await seed_land(run.url(LAND), parcels, SEED, citizens)
    await seed_business(run.url(BUSINESS), enterprises, SEED, citizens)


async def referenced(url: str, table: Table) -> dict[str, int]:
    """citizen_id -> how many parcels / enterprises reference the citizen."""
    db = Database.from_url(url)
    key = table.c.parcel_id if "parcel_id" in table.c else table.c.enterprise_code
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(select(table.c.citizen_id, key).distinct())
            counts: dict[str, int] = defaultdict(int)
            for citizen_id, _ in rows:
                counts[citizen_id] += 1
            return counts
    finally:
        await db.dispose()


def stamp(ts: object) -> float:
    return ts.ToDatetime(tzinfo=UTC).timestamp()  # type: ignore[attr-defined]


def newly_dead(event: object) -> set[str]:
    """Citizens marked deceased by this change (rights holders or representatives)."""
    people = "holders" if hasattr(event.after, "holders") else "legal_representatives"  # type: ignore[attr-defined]
    before = {p.citizen_id for p in getattr(event.before, people) if p.deceased}  # type: ignore[attr-defined]
    return {p.citizen_id for p in getattr(event.after, people) if p.deceased} - before  # type: ignore[attr-defined]


async def record_deaths(run: Run, targets: list[str], rate: float) -> dict[str, float]:
    """RecordDeath for every target at `rate` per second; the population's update time each."""
    creds = channel_credentials(
        run.pki / "ca.crt", run.pki / "gateway.crt", run.pki / "gateway.key"
    )
    died = types_pb2.Date(year=date.today().year, month=1, day=1)
    times: dict[str, float] = {}
    async with grpc.aio.secure_channel(f"127.0.0.1:{PORTS['population']}", creds) as channel:
        await asyncio.wait_for(channel.channel_ready(), 60)
        stub = PopulationServiceStub(channel)
        start = time.perf_counter()

        async def one(i: int, citizen_id: str) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            citizen = await stub.RecordDeath(
                ppb.RecordDeathRequest(
                    citizen_id=citizen_id, date_of_death=died, expected_version=1
                )
            )
            times[citizen_id] = stamp(citizen.update_time)

        await asyncio.gather(*(one(i, c) for i, c in enumerate(targets)))
    return times


async def latencies(
    run: Run, topic: str, message: type, deaths: dict[str, float], expected: int
) -> list[float]:
    """Per death: from the population's write to the last of the citizen's mirrored changes
    reaching Kafka (the record's timestamp; the mirrored rows carry the citizen's own change
    time, so that replays agree)."""
    records = await read_topic(run.bootstrap, topic, at_least=expected, timeout=120, quiet=2)
    done: dict[str, float] = {}
    for record in records:
        event = message.FromString(record.value)
        for citizen_id in newly_dead(event) & deaths.keys():
            done[citizen_id] = max(done.get(citizen_id, 0.0), record.timestamp / 1000)
    missing = deaths.keys() - done.keys()
    if missing:
        raise RuntimeError(f"{len(missing)} deaths never reached {topic}")
    return [(done[c] - deaths[c]) * 1000 for c in deaths]


async def publish_delays(run: Run, topic: str, deaths: dict[str, float]) -> list[float]:
    """Per death: from the population's write to its record's append time on the topic."""
    records = await read_topic(run.bootstrap, topic, at_least=len(deaths), timeout=60, quiet=1)
    appended = {r.key.decode(): r.timestamp / 1000 for r in records if r.key}
    return [(appended[c] - t) * 1000 for c, t in deaths.items() if c in appended]


async def latency_phase(run: Run, deaths: int, rate: float) -> dict[str, object]:
    land_refs = await referenced(run.url(LAND), holders)
    business_refs = await referenced(run.url(BUSINESS), representatives)
    both = sorted(land_refs.keys() & business_refs.keys())
    either = both + sorted(land_refs.keys() ^ business_refs.keys())
    targets = either[:deaths]
    topic = f"bench.{run.tag}.citizen.latency"
    await ensure_topics(run.bootstrap, [entity_topic(topic, 6)])
    with run.processes([POPULATION, LAND, BUSINESS], topic, f"bench.{run.tag}.latency"):
        # Give the consumer groups time to join before the clock starts.
        await asyncio.sleep(8)
        times = await record_deaths(run, targets, rate)
        land_ms = await latencies(
            run,
            f"bench.{run.tag}.land.parcel",
            land_events.ParcelChanged,
            {c: t for c, t in times.items() if c in land_refs},
            sum(land_refs[c] for c in targets),
        )
        published = await publish_delays(run, topic, times)
        business_ms = await latencies(
            run,
            f"bench.{run.tag}.business.enterprise",
            business_events.EnterpriseChanged,
            {c: t for c, t in times.items() if c in business_refs},
            sum(business_refs[c] for c in targets),
        )
    out: dict[str, object] = {"deaths": len(targets), "rate_per_s": rate}
    out["population_to_kafka"] = {
        "p50_ms": round(percentile(published, 0.50), 1),
        "p99_ms": round(percentile(published, 0.99), 1),
        "samples_ms": samples(published),
    }
    for name, values in (("land", land_ms), ("business", business_ms)):
        out[name] = {
            "deaths": len(values),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1),
            "samples_ms": samples(values),
        }
    return out


def samples(values: list[float]) -> list[float]:
    """Every latency, sorted, to 0.1 ms: the distribution the report plots."""
    return [round(v, 1) for v in sorted(values)]


async def produce_backlog(run: Run, topic: str, events: int, citizens: int) -> None:
    """`events` renames of seeded citizens, as the population registry would publish them."""
    await ensure_topics(run.bootstrap, [entity_topic(topic, 6)])
    people = list(generate_citizens(SEED, citizens))
    now = datetime.now(UTC)

    def renames() -> Iterator[EventRecord]:
        for i in range(events):
            c = people[i % len(people)]
            version = 2 + i // len(people)
            event = events_pb2.CitizenChanged(
                citizen_id=c.citizen_id,
                op=types_pb2.CHANGE_OP_UPDATE,
                version=version,
                changed_fields=FieldMask(paths=["full_name"]),
                after=citizen_pb2.Citizen(
                    citizen_id=c.citizen_id, full_name=f"{c.full_name} {version}", version=version
                ),
            )
            yield change_event(topic, event, key=c.citizen_id, source=SOURCE, time=now)

    await publish(run.bootstrap, renames(), "bench")


async def drain_rate(run: Run, group: str, events: int) -> dict[str, float]:
    """Waits for `group` to work through the topic; events/s from its first to last commit."""
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        rows = await group_status(run.bootstrap, group)
        done = sum(r.committed or 0 for r in rows)
        now = time.monotonic()
        if rows and first is None and done:
            first = (now, done)
        if rows and first is not None and sum(r.lag for r in rows) == 0 and done >= events:
            rate = (done - first[1]) / max(now - first[0], 1e-9)
            return {
                "events": done,
                "seconds": round(now - first[0], 1),
                "events_per_s": round(rate),
            }
        await asyncio.sleep(0.25)
    raise RuntimeError(f"group {group} did not finish the backlog")


async def throughput_phase(run: Run, events: int, citizens: int) -> dict[str, object]:
    topic = f"bench.{run.tag}.citizen.backlog"
    await produce_backlog(run, topic, events, citizens)
    group = f"bench.{run.tag}.backlog"
    with run.processes([LAND, BUSINESS], topic, group):
        land, business = await asyncio.gather(
            drain_rate(run, f"{group}.land", events),
            drain_rate(run, f"{group}.business-registry", events),
        )
    return {"events": events, "land": land, "business": business}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=20_000)
    parser.add_argument("--parcels", type=int, default=8_000)
    parser.add_argument("--enterprises", type=int, default=3_000)
    parser.add_argument("--deaths", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=20.0, help="Deaths per second.")
    parser.add_argument("--name", default="propagation", help="Results file name.")
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()

    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    pki = STATE / "pki"
    DevPki(pki).ensure(DEFAULT_IDENTITIES)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp), bootstrap, pki)
        await seed(run, args.citizens, args.parcels, args.enterprises)
        latency = await latency_phase(run, args.deaths, args.rate)
        throughput = await throughput_phase(run, args.backlog, args.citizens)
    target = 250.0
    worst = max(latency["land"]["p99_ms"], latency["business"]["p99_ms"])  # type: ignore[index]
    write_result(
        args.name,
        {
            "citizens": args.citizens,
            "parcels": args.parcels,
            "enterprises": args.enterprises,
            "latency": latency,
            "target_p99_ms": target,
            "p99_ratio_to_target": round(worst / target, 2),
            "backlog": throughput,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
