"""A registry killed between commit and publish, repeatedly, under load: after each restart its
outbox publishes what the dead process had committed, and the registries that mirror it apply
every committed change exactly once.

The population registry runs as a child process on its own SQLite database and is asked over
gRPC to rename citizens, a burst of concurrent calls at a time. At each kill the test waits for
a burst to be acknowledged (committed, its events in the outbox, the relay only just woken),
sends the next burst and SIGKILLs the process while those calls are in flight. The rows the
dead process left in its outbox are counted ("unpublished at kill"). A call that failed with
the process may or may not have committed, so what the registry committed is read back from
its database, and that, not what the calls said, is what must arrive. Land and business (in
this process, own databases and consumer groups) must end with every committed rename applied
once: their inbox at each citizen's last version, their copies of names equal to the
registry's, and each parcel's and enterprise's version raised by exactly the renames of the
people it names. The relay sends a batch again when it was killed after sending and before
deleting it: those records are on the topic twice, and the inbox absorbs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import field_mask_pb2
from sqlalchemy import Table

from ndx.population.v1 import citizen_pb2, population_service_pb2, population_service_pb2_grpc
from ndx_business.adapters import tables as business_tables
from ndx_business.bootstrap import start as start_business
from ndx_business.config import BusinessSettings
from ndx_business.seed import seed_business
from ndx_cli.exchange import Sizes, seed_population
from ndx_land.adapters import tables as land_tables
from ndx_land.bootstrap import start as start_land
from ndx_land.config import LandSettings
from ndx_land.seed import seed_land
from ndx_population.adapters.tables import citizens, outbox
from ndx_population.config import PopulationSettings
from ndx_runtime.service import RunningService

from .figures import record, scale
from .registry_children import (
    Child,
    admin_channel,
    caught_up,
    citizen_records,
    common,
    count,
    grouped,
    mirror_settings,
    rows,
    sqlite_path,
    wait_until_empty,
)

SIZES = Sizes(seed=7, citizens=1_000, enterprises=200, parcels=300)
WRITES = 500
KILLS = 3  # at the normal scale; one more for each step of scale above it
BURST = 20  # concurrent calls, on distinct citizens
POOL = 150  # citizens renamed, most of them named by parcels or enterprises


@dataclass(frozen=True)
class Mirror:
    """A registry that mirrors citizens, and where its copies of them are."""

    name: str
    url: str
    people: Table  # rows naming citizens: citizen_id, name
    aggregates: Table  # what those rows belong to, with a version
    key: str  # the aggregate's key column
    inbox: Table


def mirrors(urls: dict[str, str]) -> list[Mirror]:
    return [
        Mirror(
            "land",
            urls["land"],
            land_tables.holders,
            land_tables.parcels,
            "parcel_id",
            land_tables.inbox,
        ),
        Mirror(
            "business",
            urls["business"],
            business_tables.representatives,
            business_tables.enterprises,
            "enterprise_code",
            business_tables.inbox,
        ),
    ]


def rename(citizen_id: str, name: str, version: int) -> population_service_pb2.UpdateCitizenRequest:
    return population_service_pb2.UpdateCitizenRequest(
        citizen=citizen_pb2.Citizen(citizen_id=citizen_id, full_name=name),
        update_mask=field_mask_pb2.FieldMask(paths=["full_name"]),
        expected_version=version,
    )


@dataclass
class Writer:
    """Renames citizens of the pool, each time to a name not used before, and keeps the version
    each citizen has as far as the calls' answers (after a kill, the database) say."""

    pool: list[str]
    versions: dict[str, int]
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    channel: grpc.aio.Channel | None = None
    stub: Any = field(default=None, repr=False)

    def connect(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.stub = population_service_pb2_grpc.PopulationServiceStub(channel)

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close(grace=None)

    async def burst(self, n: int) -> dict[str, str]:
        """Sends `n` renames at once; returns the citizens whose call failed, and how."""
        chosen = [self.pool[(self.sent + i) % len(self.pool)] for i in range(n)]
        calls = [
            self.stub.UpdateCitizen(
                rename(c, f"Nguyễn Văn Đổi {self.sent + i}", self.versions[c]), timeout=120
            )
            for i, c in enumerate(chosen)
        ]
        self.sent += n
        answers = await asyncio.gather(*calls, return_exceptions=True)
        failed = {}
        for citizen_id, answer in zip(chosen, answers, strict=True):
            if isinstance(answer, citizen_pb2.Citizen):
                self.versions[citizen_id] = answer.version
                self.acknowledged += 1
            elif isinstance(answer, grpc.aio.AioRpcError):
                failed[citizen_id] = f"{answer.code().name}: {answer.details()}"
            else:
                raise answer
        self.failed += len(failed)
        return failed


async def test_population_killed_between_commit_and_publish(
    kafka_bootstrap: str, pki: Path, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    writes, kills = WRITES * scale(), KILLS + scale() - 1
    topic = f"test.{unique}.population.citizen.v1"
    urls = {n: f"sqlite+aiosqlite:///{tmp_path / n}.db" for n in ("population", "land", "business")}
    await seed_population(urls["population"], SIZES)
    population = Child(
        PopulationSettings(
            **common(pki, "population", urls["population"], kafka_bootstrap), citizen_topic=topic
        ),
        tmp_path,
    )
    writer = Writer([], {})
    running: list[RunningService] = []
    at_kill: list[dict[str, int]] = []
    try:
        await population.launch()  # it imports while the mirrors are seeded and started
        await seed_land(urls["land"], SIZES.parcels, SIZES.seed, SIZES.citizens)
        await seed_business(urls["business"], SIZES.enterprises, SIZES.seed, SIZES.citizens)
        initial = dict(await rows(urls["population"], citizens, "citizen_id", "version"))
        named = {m.name: await naming(m) for m in mirrors(urls)}
        before = {
            m.name: dict(await rows(m.url, m.aggregates, m.key, "version")) for m in mirrors(urls)
        }
        writer.pool = await choose_pool(urls["population"], named, random.Random(unique))
        writer.versions = {c: initial[c] for c in writer.pool}
        for m in mirrors(urls):
            settings = mirror_settings(
                LandSettings if m.name == "land" else BusinessSettings,
                pki,
                m.url,
                kafka_bootstrap,
                citizen_topic=topic,
                group=f"{topic}.{m.name}",
                own_topic=f"{topic}.{m.name}-out",
            )
            if isinstance(settings, LandSettings):
                running.append(await start_land(settings))
            else:
                running.append(await start_business(settings))
        await population.serving()
        writer.connect(admin_channel(pki, population.port))

        # Killed after each (kills + 1)-th of the writes.
        kill_at = [writes * (k + 1) // (kills + 1) for k in range(kills)]
        while writer.sent < writes:
            if kill_at and writer.sent + 2 * BURST > kill_at[0]:
                kill_at.pop(0)
                delay = (0.0, 0.01, 0.03)[len(at_kill) % 3]  # how far the calls in flight get
                at_kill.append(await kill_and_restart(population, writer, urls, pki, delay))
                continue
            failed = await writer.burst(min(BURST, writes - writer.sent))
            assert not failed, f"calls failed while the registry ran: {failed}"

        # Everything committed is published, and both mirrors have read to the end.
        await wait_until_empty(urls["population"], outbox)
        for service in running:
            group = service.settings.consumer_group  # type: ignore[attr-defined]
            await caught_up(kafka_bootstrap, group, topic)
        absorbed = {s.settings.service_name: skipped_by_inbox(s, topic) for s in running}
    finally:
        await writer.close()
        await population.stop()
        for service in running:
            await service.stop()

    # What the registry committed: each rename raised a citizen's version by one.
    final = {
        c: (v, name)
        for c, v, name in await rows(
            urls["population"], citizens, "citizen_id", "version", "full_name"
        )
        if c in writer.versions
    }
    assert {c: v for c, (v, _) in final.items()} == writer.versions
    renames = {c: v - initial[c] for c, (v, _) in final.items()}
    committed = {(c, initial[c] + n) for c, total in renames.items() for n in range(1, total + 1)}
    assert await count(urls["population"], outbox) == 0

    on_topic = await citizen_records(kafka_bootstrap, topic, len(committed))
    seen = Counter((r.citizen_id, r.version) for r in on_topic)
    assert committed - set(seen) == set(), "committed changes never published"
    assert set(seen) - committed == set(), "published changes never committed"
    # A record on the topic twice is the same event sent again, not a second change.
    ids: dict[tuple[str, int], set[str]] = {}
    for r in on_topic:
        ids.setdefault((r.citizen_id, r.version), set()).add(r.event_id)
    assert all(len(v) == 1 for v in ids.values()), "one change published under two event ids"

    lost = duplicated = 0
    for m in mirrors(urls):
        missed, extra = await check_mirror(m, final, renames, named[m.name], before[m.name])
        lost, duplicated = lost + missed, duplicated + extra
    assert (lost, duplicated) == (0, 0)

    unpublished = [k["unpublished"] for k in at_kill]
    # The window was real: rows committed and not yet published were there to be lost.
    assert sum(unpublished) > 0, at_kill
    record(
        "registry-killed",
        broken=(
            f"the population registry SIGKILLed {kills} times while citizens were renamed over "
            "gRPC, each time right after a burst of writes was acknowledged and while the next "
            "was in flight, and restarted"
        ),
        checked=(
            "every change the registry committed (read back from its database, with the calls "
            "that failed with the process but had committed) reached land's and business's "
            "state exactly once: inbox at each citizen's last version, names equal to the "
            "registry's, each aggregate's version raised once per rename; outbox empty; each "
            "change on the topic under one event id"
        ),
        requests=writer.sent,
        acknowledged=writer.acknowledged,
        failed_calls=writer.failed,
        failed_but_committed=sum(k["failed_but_committed"] for k in at_kill),
        events_written=len(committed),
        events_delivered=len(set(seen) & committed),
        kills=kills,
        unpublished_at_kill=unpublished,
        redelivered_on_topic=sum(n - 1 for n in seen.values()),
        absorbed_by_inbox=absorbed,
        lost=lost,
        duplicated=duplicated,
        seconds=round(time.monotonic() - started, 1),
    )


async def naming(m: Mirror) -> dict[str, set[str]]:
    """Whom each of a mirror's aggregates names: key -> citizen ids."""
    pairs = await rows(m.url, m.people, m.key, "citizen_id")
    return dict(grouped(pairs))


async def choose_pool(
    population_url: str, named: dict[str, dict[str, set[str]]], rng: random.Random
) -> list[str]:
    """Citizens to rename: mostly people parcels and enterprises name (what the mirrors must
    follow), some nobody names (only recorded as seen); none dead (their record is closed)."""
    alive = {
        c
        for c, died in await rows(population_url, citizens, "citizen_id", "date_of_death")
        if died is None
    }
    mentioned = {c for by in named.values() for people in by.values() for c in people}
    followed = sorted(mentioned & alive)
    pool = rng.sample(followed, min(len(followed), POOL * 4 // 5))
    pool += rng.sample(sorted(alive - mentioned), POOL - len(pool))
    rng.shuffle(pool)
    return pool


async def kill_and_restart(
    population: Child, writer: Writer, urls: dict[str, str], pki: Path, delay: float
) -> dict[str, int]:
    """Kills the registry with one burst acknowledged (and its events not all published yet)
    and the next in flight, reads back what it had committed, and starts it again."""
    for _ in range(10):
        failed = await writer.burst(BURST)
        assert not failed, f"calls failed while the registry ran: {failed}"
        # Acknowledged is committed; the relay is woken, and takes a few milliseconds to send.
        if outbox_rows(urls["population"]):
            break
    in_flight = asyncio.ensure_future(writer.burst(BURST))
    await asyncio.sleep(delay)
    await population.kill()
    failed = await in_flight
    unpublished = await count(urls["population"], outbox)
    # A failed call may have committed before the process died: the database knows.
    stored = dict(await rows(urls["population"], citizens, "citizen_id", "version"))
    committed = [c for c in failed if stored[c] > writer.versions[c]]
    for c in committed:
        assert stored[c] == writer.versions[c] + 1
        writer.versions[c] = stored[c]
    assert all(stored[c] == v for c, v in writer.versions.items()), "an acknowledged write lost"
    await writer.close()
    await population.start()
    writer.connect(admin_channel(pki, population.port))
    return {
        "unpublished": unpublished,
        "failed_calls": len(failed),
        "failed_but_committed": len(committed),
    }


async def check_mirror(
    m: Mirror,
    final: dict[str, tuple[int, str]],
    renames: dict[str, int],
    named: dict[str, set[str]],
    versions_before: dict[str, int],
) -> tuple[int, int]:
    """Checks a mirror against the registry's final state; returns the renames it missed and
    the ones it applied more than once, as its aggregates' versions show them."""
    inbox = await rows(m.url, m.inbox, "entity_id", "version")
    assert len(inbox) == len({c for c, _ in inbox}), f"{m.name}: a citizen twice in the inbox"
    assert dict(inbox) == {c: v for c, (v, _) in final.items() if renames[c]}, m.name
    copies = grouped(await rows(m.url, m.people, "citizen_id", "name"))
    stale = {c for c, (_, name) in final.items() if c in copies and copies[c] != {name}}
    assert not stale, f"{m.name}: copies of names behind the registry: {sorted(stale)[:5]}"
    # Each rename of someone an aggregate names raised the aggregate's version once.
    after = dict(await rows(m.url, m.aggregates, m.key, "version"))
    missed = extra = 0
    for key, people in named.items():
        want = versions_before[key] + sum(renames.get(c, 0) for c in people)
        missed += max(0, want - after[key])
        extra += max(0, after[key] - want)
    return missed, extra


def outbox_rows(url: str) -> int:
    """Rows in the registry's outbox now: one quick query, blocking (a millisecond)."""
    with contextlib.closing(sqlite3.connect(sqlite_path(url), timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def skipped_by_inbox(service: RunningService, topic: str) -> int:
    """Records a mirror's consumer skipped as already applied."""
    group = service.settings.consumer_group  # type: ignore[attr-defined]
    value = service.metrics.registry.get_sample_value(
        "ndx_events_consumed_total", {"topic": topic, "group": group, "outcome": "skipped"}
    )
    return int(value or 0)
