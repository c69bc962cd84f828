"""`ndx consumers reset` moves a real consumer group's offsets, and refuses while it runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from ndx_cli.consumer_groups import group_status
from ndx_cli.group_reset import GroupActiveError, OffsetMove, reset_offsets
from ndx_cli.main import cli
from ndx_runtime.consumer import Delivery, EventConsumer
from ndx_runtime.kafka import create_producer
from ndx_runtime.topics import TopicSpec, ensure_topics

BASE_MS = 1_760_000_000_000


async def produce(bootstrap: str, topic: str, partition: int, n: int) -> None:
    """n records on `partition`, BASE_MS + i seconds apart."""
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for i in range(n):
            await (
                await producer.send(
                    topic, b"v", key=b"k", partition=partition, timestamp_ms=BASE_MS + i * 1000
                )
            )
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, group: str, n: int) -> EventConsumer:
    """A started consumer of `group` that has handled n records (and committed them)."""
    handled: list[int] = []

    async def handler(d: Delivery) -> None:
        handled.append(d.offset)

    consumer = EventConsumer(bootstrap, topic, group, handler)
    await consumer.start()
    async with asyncio.timeout(30):
        while len(handled) < n:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return consumer


async def committed(bootstrap: str, group: str) -> list[int | None]:
    return [row.committed for row in await group_status(bootstrap, group)]


@pytest.fixture
async def stopped_group(kafka_bootstrap: str, unique: str) -> tuple[str, str]:
    """A topic with 4 + 6 records on its two partitions, read to the end by a stopped group."""
    topic, group = f"test.{unique}.reset", f"g-{unique}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    await produce(kafka_bootstrap, topic, 0, 4)
    await produce(kafka_bootstrap, topic, 1, 6)
    consumer = await consume_all(kafka_bootstrap, topic, group, 10)
    await consumer.stop()
    assert await committed(kafka_bootstrap, group) == [4, 6]
    return topic, group


async def test_reset_to_earliest_time_and_latest(
    kafka_bootstrap: str, stopped_group: tuple[str, str]
) -> None:
    topic, group = stopped_group

    moves = await reset_offsets(kafka_bootstrap, group, "earliest")
    assert moves == [OffsetMove(topic, 0, 4, 0), OffsetMove(topic, 1, 6, 0)]
    assert await committed(kafka_bootstrap, group) == [0, 0]

    at_3s = datetime.fromtimestamp((BASE_MS + 3000) / 1000, UTC)
    await reset_offsets(kafka_bootstrap, group, at_3s)
    assert await committed(kafka_bootstrap, group) == [3, 3]

    await reset_offsets(kafka_bootstrap, group, "latest", topics=[topic])
    assert await committed(kafka_bootstrap, group) == [4, 6]

    # The group reads on from where it was put.
    await reset_offsets(kafka_bootstrap, group, at_3s)
    consumer = await consume_all(kafka_bootstrap, topic, group, 1 + 3)
    await consumer.stop()
    assert await committed(kafka_bootstrap, group) == [4, 6]


async def test_dry_run_moves_nothing(kafka_bootstrap: str, stopped_group: tuple[str, str]) -> None:
    _, group = stopped_group
    moves = await reset_offsets(kafka_bootstrap, group, "earliest", dry_run=True)
    assert [(m.old, m.new) for m in moves] == [(4, 0), (6, 0)]
    assert await committed(kafka_bootstrap, group) == [4, 6]


async def test_an_active_group_is_refused(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"test.{unique}.active", f"g-{unique}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    await produce(kafka_bootstrap, topic, 0, 2)
    consumer = await consume_all(kafka_bootstrap, topic, group, 2)
    try:
        with pytest.raises(GroupActiveError, match="1 active member"):
            await reset_offsets(kafka_bootstrap, group, "earliest")
    finally:
        await consumer.stop()
    assert await committed(kafka_bootstrap, group) == [2]


async def test_a_group_without_offsets_needs_topics(kafka_bootstrap: str, unique: str) -> None:
    with pytest.raises(LookupError, match="--topic"):
        await reset_offsets(kafka_bootstrap, f"g-{unique}", "earliest")


def test_cli_prints_each_move(
    kafka_bootstrap: str, stopped_group: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = stopped_group
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    runner = CliRunner()

    result = runner.invoke(
        cli, ["consumers", "reset", "--group", group, "--to", "earliest", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{topic}[0] 4 -> 0",
        f"{topic}[1] 6 -> 0",
        f"would move 2 of 2 partitions of group {group} (dry run: nothing committed)",
    ]

    result = runner.invoke(cli, ["consumers", "reset", "--group", group, "--to", "tomorrow"])
    assert result.exit_code == 2
    assert "earliest or latest" in result.output
