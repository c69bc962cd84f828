"""`ndx consumers status` reports what a real consumer group has committed, and its lag."""

from __future__ import annotations

import asyncio

from ndx_cli.consumer_groups import group_status
from ndx_runtime.consumer import Delivery, EventConsumer
from ndx_runtime.kafka import create_producer
from ndx_runtime.topics import TopicSpec, ensure_topics


async def produce(bootstrap: str, topic: str, n: int) -> None:
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for i in range(n):
            await (await producer.send(topic, b"v", key=str(i).encode(), partition=0))
    finally:
        await producer.stop()


async def test_lag_follows_the_group(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"test.{unique}.lag", f"g-{unique}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1, {})])
    await produce(kafka_bootstrap, topic, 3)
    handled: list[int] = []

    async def handler(d: Delivery) -> None:
        handled.append(d.offset)

    consumer = EventConsumer(kafka_bootstrap, topic, group, handler)
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while len(handled) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
    [row] = await group_status(kafka_bootstrap, group)
    assert (row.committed, row.end, row.lag) == (3, 3, 0)
    await produce(kafka_bootstrap, topic, 2)
    [row] = await group_status(kafka_bootstrap, group)
    assert (row.committed, row.end, row.lag) == (3, 5, 2)
