"""The soak's books: every citizen change accepted is on the population's topic once, applied
once by the land and business registries, and delivered once by each feed that follows it;
every parcel and enterprise change the mirrors announced is delivered once by its feed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import Message
from soak_traffic import Feed
from sqlalchemy import select

from ndx.business.v1 import events_pb2 as business_events
from ndx.land.v1 import events_pb2 as land_events
from ndx.population.v1 import events_pb2 as population_events
from ndx_runtime.db import Database
from ndx_runtime.envelope import header
from ndx_runtime.kafka import read_topic
from ndx_runtime.kafka_connection import kafka_options
from ndx_runtime.topics import topic_partitions

EVENTS: dict[str, type[Message]] = {
    "citizen": population_events.CitizenChanged,
    "parcel": land_events.ParcelChanged,
    "enterprise": business_events.EnterpriseChanged,
}
KEYS = {"citizen": "citizen_id", "parcel": "parcel_id", "enterprise": "enterprise_code"}


@dataclass(frozen=True)
class Published:
    """A change event as it is on its topic."""

    event_id: str
    subject: str
    version: int


@dataclass
class Line:
    """One consumer's account: what it should have had, what it had."""

    expected: int
    delivered: int
    lost: int
    duplicated: int

    def as_dict(self) -> dict[str, int]:
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicated": self.duplicated,
        }


async def topic_size(bootstrap: str, topic: str) -> int:
    """Records on a topic (the sum of its partitions' end offsets)."""
    partitions = await topic_partitions(bootstrap, topic) or 0
    if not partitions:
        return 0
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return sum(ends.values())


async def published(bootstrap: str, topic: str, aggregate: str) -> list[Published]:
    """Every change event on `topic`, read from the start."""
    size = await topic_size(bootstrap, topic)
    records = await read_topic(bootstrap, topic, at_least=size, timeout=180, quiet=1)
    cls, key = EVENTS[aggregate], KEYS[aggregate]
    out = []
    for record in records:
        if record.value is None:
            continue
        event = cls.FromString(record.value)
        ce_id = header(list(record.headers or ()), "ce_id") or ""
        version = int(event.version)  # type: ignore[attr-defined]
        out.append(Published(ce_id, str(getattr(event, key)), version))
    return out


def by_identity(expected: Sequence[object], got: Sequence[object]) -> Line:
    """Items expected once each against the items received: lost are expected ones never
    received, duplicated are receipts beyond the first of an item."""
    counts = Counter(got)
    wanted = set(expected)
    return Line(
        expected=len(expected),
        delivered=len(got),
        lost=len(wanted - counts.keys()),
        duplicated=sum(n - 1 for n in counts.values()),
    )


def on_topic(written: Sequence[tuple[str, int]], events: Sequence[Published]) -> Line:
    """The renames accepted against the citizen events on the topic (by citizen and
    version); an event on the topic that no accepted write made counts as duplicated."""
    line = by_identity(written, [(e.subject, e.version) for e in events])
    line.duplicated += len({(e.subject, e.version) for e in events} - set(written))
    return line


def by_feed(feed: Feed, events: Sequence[Published]) -> Line:
    """What a feed delivered against the events on its topic, by event id."""
    return by_identity([e.event_id for e in events], [d.event_id for d in feed.delivered])


async def applied(url: str, written: Sequence[tuple[str, int]], handled: float) -> Line:
    """A mirroring registry's account of the citizen events: each accepted rename handled
    once (its consumer's counter; a redelivery is skipped, not handled), and its inbox at the
    last version written for every citizen renamed."""
    from ndx_land.adapters.tables import inbox  # every registry's inbox has this shape

    last: dict[str, int] = {}
    for citizen_id, version in written:
        last[citizen_id] = max(version, last.get(citizen_id, 0))
    db = Database.from_url(url)
    try:
        query = select(inbox.c.entity_id, inbox.c.version).where(
            inbox.c.source == "ndx.population.citizen"
        )
        stored = await db.read(lambda c: {r[0]: int(r[1]) for r in c.execute(query)})
    finally:
        await db.dispose()
    behind = sum(1 for c, v in last.items() if stored.get(c, 0) < v)
    expected = len(written)
    return Line(
        expected=expected,
        delivered=int(handled),
        lost=max(behind, expected - int(handled)),
        duplicated=max(0, int(handled) - expected),
    )


async def gather_published(bootstrap: str, topics: dict[str, str]) -> dict[str, list[Published]]:
    found = await asyncio.gather(*(published(bootstrap, t, a) for a, t in topics.items()))
    return dict(zip(topics, found, strict=True))
