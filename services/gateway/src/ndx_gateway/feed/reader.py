"""One subscriber's read of an aggregate's topic: a Kafka consumer of its own, on manually
assigned partitions, in no consumer group and committing nothing. Kafka is the buffer, so a
subscriber that reads slowly holds back only itself; what is fetched ahead of it is bounded
per partition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from ndx_runtime.kafka import offsets_at
from ndx_runtime.kafka_connection import KafkaConnection, kafka_options

from .cursor import Cursor

Record: TypeAlias = ConsumerRecord[bytes, bytes]


class BadStart(ValueError):
    """The requested start cannot be a position of this feed (field, description)."""

    def __init__(self, field: str, description: str) -> None:
        self.field = field
        self.description = description
        super().__init__(f"{field}: {description}")


class Expired(Exception):
    """The cursor points at events no longer retained."""


@dataclass(frozen=True)
class Start:
    """Where a subscription starts: a cursor, a time, or (neither) the end of the topic."""

    cursor: Cursor | None = None
    time: datetime | None = None


class TopicReader:
    def __init__(self, consumer: AIOKafkaConsumer, topic: str, positions: dict[int, int]):
        self.consumer = consumer
        self.topic = topic
        # Partition -> next offset, counting every record read (delivered or not).
        self.positions = positions

    @classmethod
    async def open(
        cls,
        kafka: KafkaConnection,
        topic: str,
        partitions: int,
        start: Start,
        *,
        fetch_bytes: int,
    ) -> TopicReader:
        consumer = AIOKafkaConsumer(
            **kafka_options(kafka),
            client_id="ndx-gateway-feed",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=fetch_bytes,
            fetch_max_bytes=fetch_bytes * 4,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            offsets = await _start_offsets(consumer, tps, start)
            for tp in tps:
                consumer.seek(tp, offsets[tp.partition])
        except BaseException:
            await consumer.stop()
            raise
        return cls(consumer, topic, offsets)

    async def next_batch(self, *, timeout_ms: int, max_records: int) -> list[Record]:
        """The next records, in order within each partition; empty after `timeout_ms` idle."""
        fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return [record for records in fetched.values() for record in records]

    def advance(self, record: Record) -> None:
        self.positions[record.partition] = record.offset + 1

    def cursor(self) -> str:
        return Cursor(self.topic, self.positions).encode()

    async def close(self) -> None:
        await self.consumer.stop()


async def _start_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], start: Start
) -> dict[int, int]:
    end_offsets = await consumer.end_offsets(tps)
    ends = {tp.partition: o for tp, o in end_offsets.items()}
    if start.time is not None:
        # No record at or after the time in a partition: from its end.
        found = await offsets_at(consumer, start.time, end_offsets)
        return {tp.partition: o for tp, o in found.items()}
    if start.cursor is None:
        return ends
    firsts = {tp.partition: o for tp, o in (await consumer.beginning_offsets(tps)).items()}
    unknown = sorted(set(start.cursor.offsets) - set(ends))
    if unknown:
        raise BadStart("cursor", f"names partitions the feed does not have: {unknown}")
    offsets = {}
    for partition, end in ends.items():
        # A partition added after the cursor was issued is read from its beginning.
        at = start.cursor.offsets.get(partition, firsts[partition])
        if at > end:
            raise BadStart("cursor", "points past the end of the feed; it was not issued by it")
        if at < firsts[partition]:
            raise Expired(
                f"the cursor points at events no longer retained (partition {partition}: "
                f"{at} < {firsts[partition]}); resume from a time instead"
            )
        offsets[partition] = at
    return offsets
