"""EventConsumer against the real broker: dead letters, retries, committed progress."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

from aiokafka.client import AIOKafkaClient

from ndx_runtime.consumer import ERROR_HEADER, Delivery, EventConsumer, PoisonRecord
from ndx_runtime.envelope import header
from ndx_runtime.kafka import create_producer, read_topic
from ndx_runtime.topics import TopicSpec, ensure_topics


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for v in values:
            await (await producer.send(topic, v, key=b"k"))
    finally:
        await producer.stop()


async def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Polls an outcome produced by another task (the consumer's)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_poison_goes_to_the_dlq_and_the_consumer_goes_on(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = f"test.{unique}.events"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1, {})])
    await produce(kafka_bootstrap, topic, [b"good-1", b"poison", b"good-2"])
    seen: list[bytes] = []

    async def handler(d: Delivery) -> None:
        if d.value == b"poison":
            raise PoisonRecord("cannot decode")
        seen.append(d.value or b"")

    consumer = EventConsumer(kafka_bootstrap, topic, f"g-{unique}", handler)
    await consumer.start()
    try:
        await wait_for(lambda: len(seen) == 2)
    finally:
        await consumer.stop()
    assert seen == [b"good-1", b"good-2"]
    [dead] = await read_topic(kafka_bootstrap, f"{topic}.dlq", at_least=1)
    assert dead.value == b"poison"
    assert header(list(dead.headers), ERROR_HEADER) == "PoisonRecord: cannot decode"
    assert consumer.stats.dead_lettered == 1

    # The group's offsets were committed: a restarted consumer sees nothing again.
    again: list[bytes] = []

    async def record(d: Delivery) -> None:
        again.append(d.value or b"")

    consumer = EventConsumer(kafka_bootstrap, topic, f"g-{unique}", record)
    await consumer.start()
    try:
        await produce(kafka_bootstrap, topic, [b"good-3"])
        await wait_for(lambda: again)
    finally:
        await consumer.stop()
    assert again == [b"good-3"]


async def test_a_failing_handler_is_retried_not_skipped(kafka_bootstrap: str, unique: str) -> None:
    topic = f"test.{unique}.events"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1, {})])
    await produce(kafka_bootstrap, topic, [b"one", b"two"])
    attempts: list[bytes] = []
    done: list[bytes] = []

    async def flaky(d: Delivery) -> None:
        attempts.append(d.value or b"")
        if d.value == b"one" and attempts.count(b"one") < 3:
            raise ConnectionError("database unavailable")
        done.append(d.value or b"")

    consumer = EventConsumer(kafka_bootstrap, topic, f"g-{unique}", flaky, retry_seconds=0.1)
    await consumer.start()
    try:
        await wait_for(lambda: done == [b"one", b"two"])
    finally:
        await consumer.stop()
    assert attempts.count(b"one") == 3
    assert consumer.stats.retries == 2


async def test_a_batch_with_a_poison_record_is_retried_one_record_at_a_time(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = f"test.{unique}.events"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1, {})])
    await produce(kafka_bootstrap, topic, [b"good-1", b"poison", b"good-2"])
    batches: list[list[bytes]] = []
    applied: list[bytes] = []

    async def handle(batch: list[Delivery]) -> None:
        values = [d.value or b"" for d in batch]
        batches.append(values)
        if b"poison" in values:
            raise PoisonRecord("cannot decode")  # nothing of the batch is applied
        applied.extend(values)

    consumer = EventConsumer(kafka_bootstrap, topic, f"g-{unique}", batch_handler=handle)
    await consumer.start()
    try:
        await wait_for(lambda: consumer.stats.handled + consumer.stats.dead_lettered == 3)
    finally:
        await consumer.stop()
    assert applied == [b"good-1", b"good-2"]
    # Records produced before the group joined arrive together: the fallback was exercised.
    assert [b"good-1", b"poison", b"good-2"] in batches
    assert consumer.stats.dead_lettered == 1
    [dead] = await read_topic(kafka_bootstrap, f"{topic}.dlq", at_least=1)
    assert dead.value == b"poison"


def kafka_clients() -> list[AIOKafkaClient]:
    gc.collect()
    return [c for c in gc.get_objects() if isinstance(c, AIOKafkaClient)]


async def test_its_kafka_clients_keep_the_metadata_of_its_topics_alone(
    kafka_bootstrap: str, unique: str
) -> None:
    """A client that names no topic (a producer yet to send, an admin client) refreshes the
    metadata of every topic of the cluster every five minutes and keeps it: memory that grows
    with the cluster. Each client of a consumer names the topics it uses."""
    topic, other = f"test.{unique}.events", f"test.{unique}.someone-else"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1, {}), TopicSpec(other, 1, {})])

    async def ignore(d: Delivery) -> None:
        pass

    before = {id(c) for c in kafka_clients()}
    consumer = EventConsumer(kafka_bootstrap, topic, f"g-{unique}", ignore)
    await consumer.start()
    try:
        clients = [c for c in kafka_clients() if id(c) not in before]
        assert clients
        for client in clients:
            # What the periodic refresh does, now.
            await client.force_metadata_update()
            assert set(client.cluster.topics()) <= {topic, f"{topic}.dlq"}
    finally:
        await consumer.stop()
