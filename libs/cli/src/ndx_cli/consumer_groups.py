"""`ndx consumers status`: where a consumer group stands on each partition, and its lag."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # next offset the group will read; None before its first commit
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


async def group_status(bootstrap: str, group: str) -> list[PartitionLag]:
    """Committed offsets of `group` against the end of each partition it has committed on."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    if not committed:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return sorted(
        (
            PartitionLag(
                tp.topic, tp.partition, meta.offset if meta.offset >= 0 else None, ends[tp]
            )
            for tp, meta in committed.items()
        ),
        key=lambda p: (p.topic, p.partition),
    )
