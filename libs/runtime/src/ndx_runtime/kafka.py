"""Kafka clients configured the NDX way."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from .kafka_connection import KafkaTarget, kafka_options
from .topics import topic_partitions

D = TypeVar("D")


def timestamp_ms(when: datetime) -> int:
    """A time as Kafka timestamps count it: milliseconds since the epoch."""
    return int(when.timestamp() * 1000)


async def offsets_at(
    consumer: AIOKafkaConsumer, when: datetime, otherwise: Mapping[TopicPartition, D]
) -> dict[TopicPartition, int | D]:
    """The first offset at or after `when` in each partition of `otherwise` (Kafka's
    offsets-for-times), or its value there when no record is that recent."""
    found = await consumer.offsets_for_times({tp: timestamp_ms(when) for tp in otherwise})
    return {tp: otherwise[tp] if at is None else at.offset for tp, at in found.items()}


def create_producer(
    kafka: KafkaTarget,
    client_id: str,
    *,
    linger_ms: int = 5,
    request_timeout_ms: int = 15_000,
) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates on retry."""
    return AIOKafkaProducer(
        **kafka_options(kafka),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        request_timeout_ms=request_timeout_ms,
    )


async def read_topic(
    kafka: KafkaTarget,
    topic: str,
    *,
    at_least: int = 0,
    timeout: float = 15.0,
    quiet: float = 1.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic from the start, once `at_least` arrived and `quiet` s passed idle."""
    consumer = AIOKafkaConsumer(**kafka_options(kafka), enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        count: int | None = None
        while not count and loop.time() < deadline:
            count = await topic_partitions(kafka, topic)
            if not count:
                await asyncio.sleep(0.2)
        if not count:
            return records
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        last = loop.time()
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=100)
            for part in batch.values():
                records.extend(part)
            now = loop.time()
            if batch:
                last = now
            elif len(records) >= at_least and now - last >= quiet:
                break
    finally:
        await consumer.stop()
    return records
