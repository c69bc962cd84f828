"""`ndx consumers status`: where a consumer group stands on each partition, and its lag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ndx_runtime.kafka_connection import KafkaTarget, kafka_options
from ndx_runtime.topics import topic_partitions


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # next offset the group will read; None before its first commit
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


async def group_status(
    kafka: KafkaTarget, group: str, topics: Sequence[str] = ()
) -> list[PartitionLag]:
    """Committed offsets of `group` against the end of each partition it has committed on,
    and of every partition of `topics` (where it has not committed yet too: a partition the
    group never reached still counts as lag)."""
    admin = AIOKafkaAdminClient(**kafka_options(kafka))
    await admin.start()
    try:
        committed = {
            tp: meta.offset if meta.offset >= 0 else None
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
        }
    finally:
        await admin.close()
    for topic in topics:
        for partition in range(await topic_partitions(kafka, topic) or 0):
            committed.setdefault(TopicPartition(topic, partition), None)
    if not committed:
        return []
    consumer = AIOKafkaConsumer(**kafka_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return sorted(
        (
            PartitionLag(tp.topic, tp.partition, offset, ends[tp])
            for tp, offset in committed.items()
        ),
        key=lambda p: (p.topic, p.partition),
    )
