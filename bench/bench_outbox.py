"""Outbox relay to Kafka (events/s) next to a raw aiokafka producer on the same broker, same run.

Both sides use the same producer settings (idempotent, acks=all) and the same records: real
CitizenChanged events with CloudEvents headers. Target: the relay at >= 20,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from common import kafka_bootstrap, peak_rss_mb, write_result
from sqlalchemy import insert

from ndx_population.adapters.proto_mapping import change_to_proto
from ndx_population.adapters.tables import metadata, outbox
from ndx_population.domain.model import Citizen
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.db import Database, create_schema
from ndx_runtime.envelope import EventRecord, change_event
from ndx_runtime.kafka import create_producer
from ndx_runtime.outbox import OutboxRelay, encode_headers
from ndx_runtime.topics import TopicSpec, ensure_topics


def events(n: int, topic: str) -> list[EventRecord]:
    """Registration events of realistic seeded citizens (every field filled where real)."""
    now = datetime.now(UTC)
    out = []
    for c in generate_citizens(3, n):
        Citizen.register(c, date(2026, 1, 1), now)
        out.append(
            change_event(
                topic,
                change_to_proto(c.events[0]),
                key=c.citizen_id,
                source="//ndx.gov.vn/population",
            )
        )
    return out


async def raw_producer(bootstrap: str, records: list[EventRecord]) -> float:
    producer = create_producer(bootstrap, "bench-raw")
    await producer.start()
    try:
        started = time.perf_counter()
        pending = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def relay(bootstrap: str, records: list[EventRecord], db_url: str, batch: int) -> float:
    db = Database.from_url(db_url)
    await create_schema(db.engine, metadata)
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(outbox),
            [
                {
                    "topic": r.topic,
                    "key": r.key,
                    "value": r.value,
                    "headers": encode_headers(r.headers),
                    "created_at": now,
                }
                for r in records
            ],
        )
    producer = create_producer(bootstrap, "bench-relay")
    await producer.start()
    try:
        r = OutboxRelay(db, outbox, producer, batch_size=batch)
        started = time.perf_counter()
        published = await r.drain(timeout=600)
        elapsed = time.perf_counter() - started
        assert published == len(records), (published, len(records))
        return elapsed
    finally:
        await producer.stop()
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    run = uuid.uuid4().hex[:8]
    raw_topic, relay_topic = f"bench.{run}.raw", f"bench.{run}.relay"
    await ensure_topics(bootstrap, [TopicSpec(raw_topic, 6, {}), TopicSpec(relay_topic, 6, {})])
    raw_records = events(args.events, raw_topic)
    relay_records = [EventRecord(relay_topic, r.key, r.value, r.headers) for r in raw_records]
    value_bytes = sum(len(r.value or b"") for r in raw_records) / len(raw_records)
    raw_s = await raw_producer(bootstrap, raw_records)
    with tempfile.TemporaryDirectory() as tmp:
        relay_s = await relay(
            bootstrap, relay_records, f"sqlite+aiosqlite:///{Path(tmp) / 'o.db'}", args.batch
        )
    raw_rate, relay_rate = args.events / raw_s, args.events / relay_s
    write_result(
        "outbox_relay",
        {
            "events": args.events,
            "mean_value_bytes": round(value_bytes),
            "raw_aiokafka_events_per_s": round(raw_rate),
            "outbox_relay_events_per_s": round(relay_rate),
            "ratio_relay_to_raw": round(relay_rate / raw_rate, 3),
            "target_events_per_s": 20_000,
            "meets_target": relay_rate >= 20_000,
            "database": "sqlite",
            "peak_rss_mb": round(peak_rss_mb()),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
