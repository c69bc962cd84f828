"""A consumer killed mid-batch resumes from its committed offsets, and its state digest equals a
clean run's.

A fixed set of citizen change events (renames and deaths of people that parcels and
enterprises name, and of people nobody names) is published to a topic once. Land and business
run as child processes on fresh databases and consume it; each is SIGKILLed part way through
(some of the events applied, not all): either at once after a batch's transaction commits,
before the batch's offsets reach the broker if the kill is quick enough, or a moment later,
inside the next batch's transaction; then it is started again. Meanwhile a clean land and
business (fresh databases, new consumer groups, in this process, never killed) consume the
same topic. Once all have read to the end, the killed ones' state digests equal the clean
ones', their inboxes hold each citizen once at its last version, and their groups' committed
offsets are at the end of every partition. A restarted consumer reads again the records whose
offsets were not committed when its predecessor died; its inbox skips them, and its own
metrics (records skipped as already applied) say how many there were.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiokafka.structs import RecordMetadata
from sqlalchemy import MetaData, Table, func, select

from ndx.common.v1 import types_pb2
from ndx.population.v1 import events_pb2
from ndx_business.adapters import tables as business_tables
from ndx_business.bootstrap import start as start_business
from ndx_business.config import BusinessSettings
from ndx_business.seed import seed_business
from ndx_cli.consumer_groups import group_status
from ndx_land.adapters import tables as land_tables
from ndx_land.bootstrap import start as start_land
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.config import PARTITIONS
from ndx_population.subscribers import SOURCE
from ndx_runtime.db import Database
from ndx_runtime.digest import state_digest
from ndx_runtime.envelope import change_event
from ndx_runtime.kafka import create_producer
from ndx_runtime.proto_values import date_to_proto
from ndx_runtime.service import RunningService
from ndx_runtime.topics import ensure_topics, entity_topic

from .figures import record, scale
from .registry_children import (
    Child,
    caught_up,
    consumed,
    mirror_settings,
    rows,
    sqlite_path,
)

SEED, CITIZENS, PARCELS, ENTERPRISES = 7, 1_000, 300, 200
EVENTS = 3_000
PEOPLE = 600  # citizens the events are about, most of them named by parcels or enterprises
KILLS = 1  # of each consumer at the normal scale; one more for every two steps of scale above
CHANGED_SINCE = datetime(2025, 7, 1, tzinfo=UTC)
WATCHER = Path(__file__).with_name("kill_after_commit.py")


@dataclass(frozen=True)
class Published:
    """One event on the topic: where it is and what it is."""

    partition: int
    offset: int
    citizen_id: str
    version: int


@dataclass(frozen=True)
class Mirror:
    """A mirroring registry: its settings class and tables."""

    name: str
    settings: type[LandSettings] | type[BusinessSettings]
    metadata: MetaData
    inbox: Table
    people: Table  # rows naming citizens
    aggregates: Table  # what they belong to, versioned
    key: str


MIRRORS = (
    Mirror(
        "land",
        LandSettings,
        land_tables.metadata,
        land_tables.inbox,
        land_tables.holders,
        land_tables.parcels,
        "parcel_id",
    ),
    Mirror(
        "business",
        BusinessSettings,
        business_tables.metadata,
        business_tables.inbox,
        business_tables.representatives,
        business_tables.enterprises,
        "enterprise_code",
    ),
)


async def seed(mirror: Mirror, url: str) -> None:
    if mirror.name == "land":
        await seed_land(url, PARCELS, SEED, CITIZENS)
    else:
        await seed_business(url, ENTERPRISES, SEED, CITIZENS)


def citizen_event(citizen_id: str, version: int, n: int, died: bool) -> events_pb2.CitizenChanged:
    """The `n`-th event of the set: citizen `citizen_id` renamed (or dead) at `version`."""
    event = events_pb2.CitizenChanged(
        citizen_id=citizen_id, op=types_pb2.CHANGE_OP_UPDATE, version=version
    )
    if died:
        date_to_proto(date(2025, 8, 1) + timedelta(n % 90), event.after.date_of_death)
        event.changed_fields.paths.append("date_of_death")
    else:
        event.after.full_name = f"Trần Thị Đổi {n}"
        event.changed_fields.paths.append("full_name")
    event.change_time.FromDatetime(CHANGED_SINCE + timedelta(seconds=n))
    return event


async def publish(kafka: str, topic: str, people: list[str], total: int) -> list[Published]:
    """Publishes `total` events about `people`, each person's versions 2, 3, ... in order,
    the last one of every tenth person a death; returns where each landed."""
    await ensure_topics(kafka, [entity_topic(topic, PARTITIONS)])
    per_person = [total // len(people) + (i < total % len(people)) for i in range(len(people))]
    events = []
    n = 0
    for round_ in range(max(per_person)):
        for i, citizen_id in enumerate(people):
            if round_ < per_person[i]:
                last = round_ == per_person[i] - 1
                events.append(citizen_event(citizen_id, round_ + 2, n, last and i % 10 == 0))
                n += 1
    producer = create_producer(kafka, "test")
    await producer.start()
    try:
        records = [change_event(topic, e, key=e.citizen_id, source=SOURCE) for e in events]
        sent = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
        placed: list[RecordMetadata] = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return [
        Published(m.partition, m.offset, e.citizen_id, e.version)
        for m, e in zip(placed, events, strict=True)
    ]


async def applied(url: str, inbox: Table) -> int:
    """Events a consumer has applied: each citizen's versions from 2 to the one in its inbox."""
    db = Database.from_url(url)
    try:
        query = select(func.coalesce(func.sum(inbox.c.version - 1), 0))
        return await db.read(lambda c: int(c.execute(query).scalar_one()))
    finally:
        await db.dispose()


@dataclass
class Kill:
    applied: int  # events applied (in the database) when the process died
    # Records the next process read again and skipped as applied, by its own count: those its
    # predecessors applied without their offsets being committed. A partition the next process
    # has not reached when it is killed in turn is read again by the one after it.
    re_read: int = 0


@dataclass
class KilledRun:
    """A mirror run as a child process and killed `kills` times while it consumes."""

    mirror: Mirror
    child: Child
    events: list[Published]
    kills: list[Kill] = field(default_factory=list)

    @property
    def settings(self) -> LandSettings | BusinessSettings:
        return self.child.settings  # type: ignore[return-value]

    @property
    def url(self) -> str:
        return self.settings.database_url

    @property
    def group(self) -> str:
        return self.settings.consumer_group

    @property
    def topic(self) -> str:
        return self.settings.citizen_topic

    async def run(self, kills: int, rng: random.Random) -> None:
        total = len(self.events)
        kafka = self.settings.kafka_bootstrap_servers
        await self.child.start()
        for k in range(kills):
            # Right after a batch commits (its offsets may not be committed yet), or a moment
            # later (inside the next batch's transaction, most likely).
            delay = rng.choice((0.0, rng.uniform(0.01, 0.2)))
            target = total * (k + 1) // (kills + 1)
            assert self.child.process is not None
            async with self._counting_skips():
                await watch_and_kill(
                    sqlite_path(self.url), self.child.process.proc.pid, target, delay
                )
            await self.child.process.wait()
            done = await applied(self.url, self.mirror.inbox)
            assert 0 < done < total, f"killed {self.mirror.name} with {done} of {total} applied"
            self.kills.append(Kill(done))
            await self.child.start()
        async with self._counting_skips():
            await caught_up(kafka, self.group, self.topic)
        await self.child.stop()

    @contextlib.asynccontextmanager
    async def _counting_skips(self) -> AsyncIterator[None]:
        """While the body runs, follows what the running process has skipped as already
        applied: after a restart, the records read again (the last kill's)."""
        skipped = 0

        async def follow() -> None:
            nonlocal skipped
            while True:
                with contextlib.suppress(OSError):  # not serving yet, or just killed
                    skipped = await consumed(self.child, "skipped")
                await asyncio.sleep(0.3)

        follower = asyncio.create_task(follow())
        try:
            yield
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        if self.kills:
            self.kills[-1].re_read = skipped


async def watch_and_kill(path: str, pid: int, target: int, delay: float) -> None:
    """Kills `pid` right after (or `delay` s after) a commit to the database at `path` takes
    its applied events past `target` (see kill_after_commit.py)."""
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WATCHER),
        path,
        str(pid),
        str(target),
        str(delay),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(watcher.communicate(), timeout=600)
    finally:
        if watcher.returncode is None:
            watcher.kill()
    assert watcher.returncode == 0, out.decode(errors="replace")


async def clean_run(settings: list[LandSettings | BusinessSettings]) -> None:
    """Consumes the whole topic without a kill, in this process."""
    running: list[RunningService] = []
    try:
        # One after the other: Alembic's migration context is one per process.
        for s in settings:
            if isinstance(s, LandSettings):
                running.append(await start_land(s))
            else:
                running.append(await start_business(s))
        for s in settings:
            await caught_up(s.kafka_bootstrap_servers, s.consumer_group, s.citizen_topic)
    finally:
        for service in running:
            await service.stop()


async def digest(url: str, metadata: MetaData) -> str:
    db = Database.from_url(url)
    try:
        return (await state_digest(db, metadata)).digest
    finally:
        await db.dispose()


async def test_consumer_killed_mid_batch_resumes_to_a_clean_runs_state(
    kafka_bootstrap: str, pki: Path, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    total, kills = EVENTS * scale(), KILLS + (scale() - 1) // 2
    topic = f"test.{unique}.population.citizen.v1"
    urls = {
        (m.name, run): f"sqlite+aiosqlite:///{tmp_path / m.name}-{run}.db"
        for m in MIRRORS
        for run in ("killed", "clean")
    }
    for (name, _), url in urls.items():
        await seed(next(m for m in MIRRORS if m.name == name), url)

    # The events are about people parcels and enterprises name, and some nobody names.
    rng = random.Random(unique)
    named = sorted(
        {c for m in MIRRORS for (c,) in await rows(urls[m.name, "clean"], m.people, "citizen_id")}
    )
    people = rng.sample(named, min(len(named), PEOPLE * 4 // 5))
    others = sorted({f"{n:012d}" for n in range(1, 10 * PEOPLE)} - set(named))
    people += rng.sample(others, PEOPLE - len(people))
    seeded = {m.name: await digest(urls[m.name, "clean"], m.metadata) for m in MIRRORS}
    events = await publish(kafka_bootstrap, topic, people, total)
    last_version = {e.citizen_id: e.version for e in events}

    def settings(m: Mirror, run: str) -> LandSettings | BusinessSettings:
        return mirror_settings(
            m.settings,
            pki,
            urls[m.name, run],
            kafka_bootstrap,
            citizen_topic=topic,
            group=f"{topic}.{m.name}-{run}",
            own_topic=f"{topic}.{m.name}-{run}-out",
        )

    runs = [
        KilledRun(
            m, Child(settings(m, "killed").model_copy(update={"metrics_port": 0}), tmp_path), events
        )
        for m in MIRRORS
    ]
    tasks = [
        asyncio.create_task(r.run(kills, random.Random(f"{unique}{r.mirror.name}"))) for r in runs
    ]
    tasks.append(asyncio.create_task(clean_run([settings(m, "clean") for m in MIRRORS])))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in runs:
            await r.child.stop()

    lost = duplicated = 0
    for r in runs:
        m = r.mirror
        # Every parcel's (enterprise's) version counts the changes applied to it.
        killed = dict(await rows(r.url, m.aggregates, m.key, "version"))
        clean = dict(await rows(urls[m.name, "clean"], m.aggregates, m.key, "version"))
        lost += sum(max(0, clean[k] - v) for k, v in killed.items())
        duplicated += sum(max(0, v - clean[k]) for k, v in killed.items())
        final = await digest(urls[m.name, "clean"], m.metadata)
        assert final != seeded[m.name], f"{m.name}: the events changed nothing"
        assert await digest(r.url, m.metadata) == final, m.name
        inbox = await rows(r.url, m.inbox, "entity_id", "version")
        assert len(inbox) == len({c for c, _ in inbox}), f"{m.name}: a citizen twice in the inbox"
        assert dict(inbox) == last_version, m.name
        status = await group_status(kafka_bootstrap, r.group, [topic])
        assert sum(p.end for p in status) == total
        assert all(p.committed == p.end for p in status), (m.name, status)
        assert len(r.kills) == kills
    assert (lost, duplicated) == (0, 0)

    all_kills = [k for r in runs for k in r.kills]
    record(
        "consumer-killed",
        broken=(
            f"land and business, consuming {total} citizen events as child processes, each "
            f"SIGKILLed {kills} time(s) part way through (right after a batch was applied, or "
            "inside the next one) and restarted"
        ),
        checked=(
            "state digests of the killed consumers equal those of clean consumers of the same "
            "events; inbox holds each citizen once at its last version; committed offsets at "
            "the end of every partition"
        ),
        events=total,
        consumers=len(runs),
        kills=len(all_kills),
        applied_at_kill=[k.applied for k in all_kills],
        re_read_after_restart=[k.re_read for k in all_kills],
        re_read_total=sum(k.re_read for k in all_kills),
        lost=lost,
        duplicated=duplicated,
        seconds=round(time.monotonic() - started, 1),
    )
