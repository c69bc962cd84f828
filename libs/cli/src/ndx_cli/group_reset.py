"""`ndx consumers reset`: moves a consumer group's committed offsets, like Kafka's
kafka-consumer-groups --reset-offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata

from ndx_runtime.kafka import offsets_at
from ndx_runtime.kafka_connection import KafkaTarget, kafka_options
from ndx_runtime.topics import topic_partitions

Target = Literal["earliest", "latest"] | datetime


@dataclass(frozen=True)
class OffsetMove:
    topic: str
    partition: int
    old: int | None  # None: the group had committed nothing there
    new: int


class GroupActiveError(RuntimeError):
    """Kafka moves the offsets of an empty group only: its consumers must stop first."""


async def reset_offsets(
    kafka: KafkaTarget,
    group: str,
    to: Target,
    *,
    topics: Sequence[str] = (),
    dry_run: bool = False,
) -> list[OffsetMove]:
    """Commits `to` (the first or the end offset, or the first offset at or after a time) for
    `group` on every partition of `topics`, or on every partition it has committed on.

    Raises GroupActiveError while the group has members, LookupError for an unknown topic or a
    group with nothing to reset. With `dry_run` nothing is committed.
    """
    admin = AIOKafkaAdminClient(**kafka_options(kafka))
    await admin.start()
    try:
        await _refuse_active(admin, group)
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    if topics:
        tps = []
        for topic in dict.fromkeys(topics):
            count = await topic_partitions(kafka, topic)
            if not count:
                raise LookupError(f"topic {topic!r} does not exist")
            tps += [TopicPartition(topic, p) for p in range(count)]
    else:
        tps = list(committed)
        if not tps:
            raise LookupError(
                f"group {group!r} has committed no offsets; name the topics with --topic"
            )
    tps.sort()
    # The group id makes commits land on the group; assigning (not subscribing) means this
    # client never joins it, so the commit is Kafka's "simple" commit, refused if it has members.
    consumer = AIOKafkaConsumer(**kafka_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        new = await _offsets(consumer, tps, to)
        moves = [
            OffsetMove(
                tp.topic,
                tp.partition,
                committed[tp].offset if tp in committed and committed[tp].offset >= 0 else None,
                new[tp],
            )
            for tp in tps
        ]
        if not dry_run:
            consumer.assign(tps)
            try:
                await consumer.commit({tp: OffsetAndMetadata(new[tp], "") for tp in tps})
            except CommitFailedError:
                raise GroupActiveError(
                    f"group {group!r} gained members while resetting; nothing was moved. "
                    "Stop its consumers and try again"
                ) from None
    finally:
        await consumer.stop()
    return moves


async def _refuse_active(admin: AIOKafkaAdminClient, group: str) -> None:
    [response] = await admin.describe_consumer_groups([group])
    for described in response.groups:
        error_code, _, state, _, _, members = described[:6]
        if error_code == 0 and members:
            raise GroupActiveError(
                f"group {group!r} has {len(members)} active member(s) (state {state}); Kafka "
                "moves the offsets of an empty group only: stop its consumers first"
            )


async def _offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], to: Target
) -> dict[TopicPartition, int]:
    if to == "earliest":
        return dict(await consumer.beginning_offsets(tps))
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    if to == "latest":
        return ends
    if not isinstance(to, datetime):
        raise ValueError(f"reset to earliest, latest or a time, not {to!r}")
    # No record at or after the time: the end, as Kafka's tool does.
    return await offsets_at(consumer, to, ends)
