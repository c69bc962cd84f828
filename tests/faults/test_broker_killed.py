"""The Kafka broker is killed (SIGKILL) and restarted while citizens are renamed and die at a
steady pace: the population registry keeps taking the writes (its outbox holds the events),
and once the broker is back the land and business registries apply every one of them exactly
once: nothing lost, nothing applied twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import Connection, Table, select

from ndx.business.v1 import events_pb2 as business_events
from ndx.common.v1 import types_pb2
from ndx.land.v1 import events_pb2 as land_events
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_business.adapters import tables as business
from ndx_cli.exchange import Sizes
from ndx_cli.stack.kafka import KafkaStack
from ndx_land.adapters import tables as land
from ndx_population.adapters import tables as population
from ndx_population.subscribers import SOURCE
from ndx_runtime.kafka import read_topic

from . import figures
from .broker import Registries, Registry, query, registries_on_own_broker, rows

SCENARIO = "broker-killed"
SCALE = figures.scale()
WRITES = 1_000 * SCALE
# Citizens written to (each several times): holders of parcels and legal representatives.
CITIZENS = 200
KILLS = 1 if SCALE == 1 else 3
DOWN_SECONDS = 4.0
# Each kill after the first once the broker has been back this long.
UP_SECONDS = 10.0
# The pace of the writes: a stream long enough to go on through every outage (a restart
# takes 10 to 40 s on a busy machine).
WRITES_PER_SECOND = 40.0
SIZES = Sizes(citizens=1_500, enterprises=300, parcels=400)
TODAY = date.today()


@pytest.fixture
async def stage(
    tmp_path: Path, pki: Path, unique: str
) -> AsyncIterator[tuple[KafkaStack, Registries]]:
    async with registries_on_own_broker(tmp_path, pki, f"test.{unique}", SIZES) as running:
        yield running


@dataclass(frozen=True)
class Write:
    number: int
    citizen_id: str
    # The new full name, unique to this write; None for the citizen's death.
    name: str | None


@dataclass
class Seeded:
    """What the mirrors held before the writes: who holds what, at which version."""

    versions: dict[str, int]  # citizen -> version in the population registry
    parcels: dict[str, set[str]]  # citizen -> parcels they hold
    enterprises: dict[str, set[str]]  # citizen -> enterprises they represent
    parcel_versions: dict[str, int]
    enterprise_versions: dict[str, int]


def citizen_index(conn: Connection, table: Any, key: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for entity, citizen_id in conn.execute(select(key, table.c.citizen_id)):
        found[citizen_id].add(entity)
    return dict(found)


def versions_of(conn: Connection, table: Any, key: Any) -> dict[str, int]:
    return {k: int(v) for k, v in conn.execute(select(key, table.c.version))}


async def seeded(registries: Registries) -> Seeded:
    def living(conn: Connection) -> dict[str, int]:
        t = population.citizens
        result = conn.execute(
            select(t.c.citizen_id, t.c.version).where(t.c.date_of_death.is_(None))
        )
        return {c: int(v) for c, v in result}

    def in_land(conn: Connection) -> tuple[dict[str, set[str]], dict[str, int]]:
        return (
            citizen_index(conn, land.holders, land.holders.c.parcel_id),
            versions_of(conn, land.parcels, land.parcels.c.parcel_id),
        )

    def in_business(conn: Connection) -> tuple[dict[str, set[str]], dict[str, int]]:
        reps = business.representatives
        return (
            citizen_index(conn, reps, reps.c.enterprise_code),
            versions_of(conn, business.enterprises, business.enterprises.c.enterprise_code),
        )

    versions = await query(registries.population.database_url, living)
    parcels, parcel_versions = await query(registries.land.database_url, in_land)
    enterprises, enterprise_versions = await query(registries.business.database_url, in_business)
    return Seeded(versions, parcels, enterprises, parcel_versions, enterprise_versions)


def plan(seed: Seeded) -> list[Write]:
    """WRITES writes over CITIZENS living citizens (half hold parcels, half represent
    enterprises; some do both), round after round; every fourth citizen's last write is their
    death. Each rename gives a name no other write gives."""
    holders = sorted(c for c in seed.parcels if c in seed.versions)
    representatives = sorted(c for c in seed.enterprises if c in seed.versions)
    chosen = list(dict.fromkeys(holders[: CITIZENS // 2] + representatives[: CITIZENS // 2]))
    writes = []
    for number in range(WRITES):
        index = number % len(chosen)
        last = number + len(chosen) >= WRITES  # the citizen's last write
        dies = index % 4 == 0 and last
        name = None if dies else f"Nguyễn Thị Lần {number:06d}"
        writes.append(Write(number, chosen[index], name))
    return writes


class Writer:
    """Sends the writes to the population registry at a steady pace, one after another."""

    def __init__(self, stub: PopulationServiceStub, versions: dict[str, int]) -> None:
        self.stub = stub
        self.versions = dict(versions)
        self.accepted: list[float] = []  # when each write was accepted (monotonic)
        self.events: set[tuple[str, int]] = set()  # (citizen, version) of each write

    @property
    def done(self) -> int:
        return len(self.accepted)

    async def run(self, writes: list[Write], holds: dict[int, asyncio.Event]) -> None:
        """Writes at WRITES_PER_SECOND; before write n of `holds`, waits for its event (the
        stream holds back rather than run out before the broker has been killed)."""
        due = time.monotonic()
        for write in writes:
            if write.number in holds:
                await holds[write.number].wait()
            # The pace resumes from now after a wait, without a burst.
            due = max(due + 1 / WRITES_PER_SECOND, time.monotonic() - 1.0)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            citizen_id = write.citizen_id
            expected = self.versions[citizen_id]
            if write.name is not None:
                reply = await self.stub.UpdateCitizen(
                    ppb.UpdateCitizenRequest(
                        citizen=citizen_pb2.Citizen(citizen_id=citizen_id, full_name=write.name),
                        update_mask=FieldMask(paths=["full_name"]),
                        expected_version=expected,
                    ),
                    timeout=30,
                )
            else:
                died = types_pb2.Date(year=TODAY.year, month=TODAY.month, day=TODAY.day)
                reply = await self.stub.RecordDeath(
                    ppb.RecordDeathRequest(
                        citizen_id=citizen_id, date_of_death=died, expected_version=expected
                    ),
                    timeout=30,
                )
            assert reply.version == expected + 1
            self.versions[citizen_id] = reply.version
            self.events.add((citizen_id, reply.version))
            self.accepted.append(time.monotonic())


@dataclass
class Outage:
    killed: float
    back: float
    writes_while_down: int
    # What each registry's readiness probe said just before the broker came back.
    ready_while_down: dict[str, bool]
    # What the population registry's metrics said then: events waiting (at least those written
    # since the kill), the oldest one's age.
    backlog: float
    oldest_age: float
    caught_up: float | None = None


@dataclass
class Chaos:
    """Kills the broker, keeps it down, restarts it; times the mirrors' catching up."""

    broker: KafkaStack
    registries: Registries
    writer: Writer
    outages: list[Outage] = field(default_factory=list)
    watchers: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, first: int, kills: list[asyncio.Event]) -> None:
        """Kills the broker once `first` writes are in, then each time it has been back for
        UP_SECONDS; each time it stays down DOWN_SECONDS before it is started again. Sets
        `kills[k]` once the k-th kill is done."""
        while self.writer.done < first:  # noqa: ASYNC110 (another task writes)
            await asyncio.sleep(0.05)
        for kill, done in enumerate(kills):
            if kill:
                await asyncio.sleep(UP_SECONDS)
            killed = time.monotonic()
            before = self.writer.done
            await asyncio.to_thread(self.broker.kill)
            done.set()
            await asyncio.sleep(DOWN_SECONDS)
            ready = {n: await r.readiness() for n, r in self.registries.by_name.items()}
            # Writes taken since the kill cannot have been published: the population registry's
            # gauges count them (the relay measures while its batch waits on the broker).
            waiting = sum(t > killed + 1.0 for t in self.writer.accepted)
            backlog = await self.backlog_reaches(waiting)
            age = await self.registries.population.metric("ndx_outbox_oldest_event_age_seconds")
            await asyncio.to_thread(self.broker.start, 120)
            back = time.monotonic()
            outage = Outage(killed, back, self.writer.done - before, ready, backlog, age)
            self.outages.append(outage)
            # What was written until now, the mirrors are to apply: how long do they take?
            target = dict(self.writer.versions)
            self.watchers.append(asyncio.create_task(self.catch_up(outage, target)))

    async def backlog_reaches(self, waiting: int) -> float:
        """The population registry's outbox backlog gauge once it counts `waiting` events."""
        async with asyncio.timeout(60):
            while True:
                backlog = await self.registries.population.metric("ndx_outbox_backlog_events")
                if backlog >= waiting:
                    return backlog
                await asyncio.sleep(0.2)

    async def catch_up(self, outage: Outage, target: dict[str, int]) -> None:
        await mirrored(self.registries, target)
        outage.caught_up = time.monotonic() - outage.back


def applied_versions(conn: Connection, inbox: Table) -> dict[str, int]:
    """The citizen versions a mirror's inbox records as applied."""
    result = conn.execute(
        select(inbox.c.entity_id, inbox.c.version).where(inbox.c.source == SOURCE)
    )
    return {c: int(v) for c, v in result}


async def mirrored(registries: Registries, target: dict[str, int]) -> None:
    """Returns once land and business have applied every citizen's `target` version."""
    inboxes = {
        registries.land.database_url: land.inbox,
        registries.business.database_url: business.inbox,
    }
    for url, inbox in inboxes.items():
        while True:
            applied = await query(url, lambda c, inbox=inbox: applied_versions(c, inbox))
            if all(applied.get(c, 0) >= v for c, v in target.items()):
                break
            await asyncio.sleep(0.2)


async def drained(registries: Registries) -> None:
    """Returns once every registry's outbox is empty."""
    tables = {
        registries.population.database_url: population.outbox,
        registries.land.database_url: land.outbox,
        registries.business.database_url: business.outbox,
    }
    for url, table in tables.items():
        while await query(url, rows(table)):  # noqa: ASYNC110 (another process publishes)
            await asyncio.sleep(0.2)


@dataclass
class Tally:
    """How the changes one mirror published match the writes."""

    expected: int = 0  # (write, entity) pairs: each entity changed once per write
    applied: int = 0
    lost: int = 0
    duplicated: int = 0
    unattributed: int = 0
    records: int = 0  # records on the topic
    republished: int = 0  # records of a version already on the topic (at least once)


def holder_changes(
    before: Iterable[Any], after: Iterable[Any]
) -> list[tuple[str, str | None, bool]]:
    """(citizen, new name or None, died) for each person whose name or death changed."""
    old = {p.citizen_id: p for p in before}
    found = []
    for person in after:
        was = old.get(person.citizen_id)
        if was is None:
            continue
        renamed = person.full_name if person.full_name != was.full_name else None
        died = person.deceased and not was.deceased
        if renamed is not None or died:
            found.append((person.citizen_id, renamed, died))
    return found


def tally(
    records: list[Any],
    decode: Callable[[bytes], Any],
    people: Callable[[Any], Iterable[Any]],
    key: str,
    writes: list[Write],
    held: dict[str, set[str]],
) -> tuple[Tally, Counter[str]]:
    """Attributes each change a mirror published to the write that caused it (by the unique
    name, or the citizen's death). Returns the tally and the changes per entity."""
    by_name = {w.name: w for w in writes if w.name is not None}
    by_death = {w.citizen_id: w for w in writes if w.name is None}
    result = Tally(records=len(records))
    seen: set[tuple[str, int]] = set()
    applied: Counter[tuple[int, str]] = Counter()
    per_entity: Counter[str] = Counter()
    for record in records:
        if record.value is None:
            continue
        event = decode(record.value)
        entity = getattr(event, key)
        if (entity, event.version) in seen:
            result.republished += 1
            continue
        seen.add((entity, event.version))
        if event.op != types_pb2.CHANGE_OP_UPDATE:
            result.unattributed += 1
            continue
        per_entity[entity] += 1
        changes = holder_changes(people(event.before), people(event.after))
        if not changes:
            result.unattributed += 1
        for citizen_id, renamed, died in changes:
            write = by_name.get(renamed) if renamed is not None else None
            if write is None and died:
                write = by_death.get(citizen_id)
            if write is None or write.citizen_id != citizen_id:
                result.unattributed += 1
                continue
            applied[(write.number, entity)] += 1
    expected = {(w.number, e) for w in writes for e in held.get(w.citizen_id, ())}
    result.expected = len(expected)
    result.applied = len(expected & applied.keys())
    result.lost = len(expected - applied.keys())
    result.duplicated = sum(n - 1 for n in applied.values()) + len(applied.keys() - expected)
    return result, per_entity


@dataclass
class Mirror:
    """What a mirroring registry holds for the written citizens, and what it published."""

    people: list[tuple[str, str, bool]]  # (citizen, name, deceased) where they appear
    versions: dict[str, int]  # entity -> version
    inbox: dict[str, int]  # citizen -> version applied
    tally: Tally
    changes: Counter[str]  # entity -> changes published


def mirror_state(
    people: Table, key: Any, entities: Table, inbox: Table, citizens: set[str]
) -> Callable[[Connection], tuple[list[tuple[str, str, bool]], dict[str, int], dict[str, int]]]:
    def read(
        conn: Connection,
    ) -> tuple[list[tuple[str, str, bool]], dict[str, int], dict[str, int]]:
        p = people
        found = conn.execute(
            select(p.c.citizen_id, p.c.name, p.c.deceased).where(p.c.citizen_id.in_(citizens))
        )
        return (
            [(c, n, bool(d)) for c, n, d in found],
            versions_of(conn, entities, key),
            applied_versions(conn, inbox),
        )

    return read


@dataclass(frozen=True)
class Mirroring:
    """Where a mirroring registry keeps the citizens it names, and how its changes read."""

    people: Table  # rows naming citizens: citizen_id, name, deceased
    entities: Table  # the aggregates, with a version
    key: str  # the aggregate's key column and event field
    inbox: Table
    topic: str  # its change topic, in registries.topics
    decode: Callable[[bytes], Any]  # a change event from a record's value
    people_of: Callable[[Any], Iterable[Any]]  # the citizens an aggregate names


LAND = Mirroring(
    land.holders,
    land.parcels,
    "parcel_id",
    land.inbox,
    "parcel",
    land_events.ParcelChanged.FromString,
    lambda parcel: parcel.holders,
)
BUSINESS = Mirroring(
    business.representatives,
    business.enterprises,
    "enterprise_code",
    business.inbox,
    "enterprise",
    business_events.EnterpriseChanged.FromString,
    lambda enterprise: enterprise.legal_representatives,
)


async def mirror(
    registry: Registry,
    how: Mirroring,
    topics: dict[str, str],
    writes: list[Write],
    held: dict[str, set[str]],
) -> Mirror:
    """What `registry` holds and published once it has caught up, against `writes`."""
    citizens = {w.citizen_id for w in writes}
    state = mirror_state(how.people, how.entities.c[how.key], how.entities, how.inbox, citizens)
    found, versions, applied = await query(registry.database_url, state)
    kafka = registry.settings.kafka_bootstrap_servers
    records = await read_topic(kafka, topics[how.topic], timeout=60)
    counted, changes = tally(records, how.decode, how.people_of, how.key, writes, held)
    return Mirror(found, versions, applied, counted, changes)


async def published(kafka: str, topic: str, at_least: int) -> Counter[tuple[str, int]]:
    """How often each citizen version is on the citizen topic."""
    records = await read_topic(kafka, topic, at_least=at_least, timeout=60)
    return Counter(
        (e.citizen_id, e.version)
        for e in (events_pb2.CitizenChanged.FromString(r.value) for r in records)
    )


async def test_no_write_is_lost_or_applied_twice_when_the_broker_is_killed(
    stage: tuple[KafkaStack, Registries],
) -> None:
    broker, registries = stage
    seed = await seeded(registries)
    writes = plan(seed)
    written = {w.citizen_id for w in writes}
    stub = PopulationServiceStub(registries.channel(registries.population))
    writer = Writer(stub, {c: seed.versions[c] for c in written})
    chaos = Chaos(broker, registries, writer)
    # The k-th kill comes a third of the way in, or UP_SECONDS after the broker is back from
    # the one before; the writes do not go past a point before it (lest a slow restart let them
    # all through first), so that writes go on during and after every outage.
    kills = [asyncio.Event() for _ in range(KILLS)]
    spread = WRITES * 6 // 10 // KILLS
    holds = {WRITES // 3 + (k + 1) * spread: kill for k, kill in enumerate(kills)}
    started = time.monotonic()
    await asyncio.gather(writer.run(writes, holds), chaos.run(WRITES // 3, kills))
    wrote = writer.accepted[-1] - started

    # Every event published, every mirror current (the watchers time each outage's catch-up).
    async with asyncio.timeout(300):
        await mirrored(registries, writer.versions)
        await drained(registries)
        await asyncio.gather(*chaos.watchers)

    topics = registries.topics
    citizen_events, land_mirror, business_mirror = await asyncio.gather(
        published(broker.bootstrap, topics["citizen"], WRITES),
        mirror(registries.land, LAND, topics, writes, seed.parcels),
        mirror(registries.business, BUSINESS, topics, writes, seed.enterprises),
    )
    mirrors = {"land": land_mirror, "business": business_mirror}
    # Each write published once by the population registry, applied once per entity it touches.
    unpublished = len(writer.events - citizen_events.keys())
    lost = unpublished + sum(m.tally.lost for m in mirrors.values())
    duplicated = sum(m.tally.duplicated + m.tally.unattributed for m in mirrors.values())
    assert (lost, duplicated) == (0, 0), {n: m.tally for n, m in mirrors.items()}
    assert citizen_events.keys() == writer.events

    # The mirrored state is what the writes imply: final names and deaths, the inbox at each
    # citizen's last version, every entity one version further per write that touched it.
    last_name = {w.citizen_id: w.name for w in writes if w.name is not None}
    dead = {w.citizen_id for w in writes if w.name is None}
    seeded_versions = {"land": seed.parcel_versions, "business": seed.enterprise_versions}
    held = {"land": seed.parcels, "business": seed.enterprises}
    for name, m in mirrors.items():
        expected = Counter(e for w in writes for e in held[name].get(w.citizen_id, ()))
        assert m.people and m.people == [(c, last_name[c], c in dead) for c, _, _ in m.people]
        assert {c: m.inbox.get(c) for c in written} == writer.versions, name
        before = seeded_versions[name]
        assert {e: v - before[e] for e, v in m.versions.items() if v != before[e]} == expected
        assert m.changes == expected, name

    assert all(o.writes_while_down > 0 for o in chaos.outages)
    # Unready, Kubernetes would take them out of their Services: no writes for the outbox.
    assert [o.ready_while_down for o in chaos.outages] == [
        {"population": True, "land": True, "business": True}
    ] * KILLS
    # Still ready, the population registry shows the wait in its metrics instead.
    assert all(o.backlog > 0 and o.oldest_age > 0 for o in chaos.outages), chaos.outages

    # None crashed on the way: each stops cleanly on SIGTERM, exit code 0.
    await registries.stop()

    catch_ups = [o.caught_up for o in chaos.outages if o.caught_up is not None]
    figures.record(
        SCENARIO,
        broken=(
            f"The Kafka broker killed with SIGKILL {KILLS} time(s) during a stream of "
            f"{WRITES:,} citizen renames and deaths, kept down {DOWN_SECONDS:g} s, restarted "
            "on the same ports and data."
        ),
        checked=(
            "The population registry took every write while the broker was down, all three "
            "registries stayed ready, the outboxes drained; land and business applied each "
            "write once to every parcel and enterprise of the citizen (inbox at the last "
            "version, names and deaths as written, one version and one published change per "
            "write)."
        ),
        writes=WRITES,
        writes_per_second=round(WRITES / wrote, 1),
        errors=0,
        events_published=len(citizen_events),
        land_changes_expected=mirrors["land"].tally.expected,
        land_changes_applied=mirrors["land"].tally.applied,
        business_changes_expected=mirrors["business"].tally.expected,
        business_changes_applied=mirrors["business"].tally.applied,
        records_republished=citizen_events.total()
        - len(citizen_events)
        + sum(m.tally.republished for m in mirrors.values()),
        lost=lost,
        duplicated=duplicated,
        kills=len(chaos.outages),
        broker_down_seconds=round(sum(o.back - o.killed for o in chaos.outages), 1),
        writes_while_broker_down=sum(o.writes_while_down for o in chaos.outages),
        writes_after_last_restart=sum(t > chaos.outages[-1].back for t in writer.accepted),
        outbox_backlog_while_broker_down=max(o.backlog for o in chaos.outages),
        catch_up_seconds_after_restart=round(max(catch_ups), 1),
    )
