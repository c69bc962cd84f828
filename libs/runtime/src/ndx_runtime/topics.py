"""Topics are created explicitly, with their partition counts and configs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from .kafka_connection import KafkaTarget, kafka_options
from .kafka_probe import started

_NONE = 0
_UNKNOWN_TOPIC = 3
_TOPIC_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    """A topic as NDX wants it: name, partition count and topic configs."""

    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def entity_topic(name: str, partitions: int) -> TopicSpec:
    """A registry's change topic, keyed by entity: compacted so the latest state per entity
    stays, and time-bounded so tombstones and old versions eventually go."""
    return TopicSpec(
        name, partitions, {"cleanup.policy": "compact,delete", "retention.ms": str(RETENTION_MS)}
    )


RETENTION_MS = 90 * 24 * 3600 * 1000


async def ensure_topics(
    kafka: KafkaTarget, specs: list[TopicSpec], *, timeout: float = 30.0
) -> None:
    """Creates the topics that do not exist and waits for their leaders; others stay as they are."""
    if not specs:
        return
    admin = AIOKafkaAdminClient(**kafka_options(kafka), request_timeout_ms=15_000)
    await started(admin, kafka)
    try:
        existing = set(await admin.list_topics())
        brokers = len((await admin.describe_cluster())["brokers"])
        missing = [
            NewTopic(s.name, s.partitions, min(3, brokers), topic_configs=dict(s.configs))
            for s in specs
            if s.name not in existing
        ]
        if not missing:
            return
        response = await admin.create_topics(missing)
        for name, code, *rest in response.topic_errors:
            # TOPIC_ALREADY_EXISTS: another process created it in between; that is fine.
            if code not in (_NONE, _TOPIC_EXISTS):
                message = rest[0] if rest and rest[0] else ""
                raise for_code(code)(f"creating topic {name}: {message}")
        async with asyncio.timeout(timeout):
            await _wait_for_leaders(admin, [t.name for t in missing])
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Waits until every partition of the named topics has a leader in the cluster metadata."""
    while True:
        described: list[dict[str, Any]] = await admin.describe_topics(names)
        if all(
            t["error_code"] == _NONE
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)


async def topic_partitions(kafka: KafkaTarget, name: str) -> int | None:
    """How many partitions a topic has, or None when it does not exist."""
    admin = AIOKafkaAdminClient(**kafka_options(kafka))
    await started(admin, kafka)
    try:
        [described] = await admin.describe_topics([name])
        if described.get("error_code") == _UNKNOWN_TOPIC or not described.get("partitions"):
            return None
        return len(described["partitions"])
    finally:
        await admin.close()
