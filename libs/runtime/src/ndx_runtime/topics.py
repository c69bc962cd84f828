"""Topics are created explicitly, with their partition counts and configs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    """Creates the topics that do not exist; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        brokers = len((await admin.describe_cluster())["brokers"])
        missing = [
            NewTopic(s.name, s.partitions, min(3, brokers), topic_configs=dict(s.configs))
            for s in specs
            if s.name not in existing
        ]
        if missing:
            # Another process may have created one in between.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, name: str) -> int | None:
    """How many partitions a topic has, or None when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([name])
        if described.get("error_code"):
            return None
        return len(described["partitions"])
    finally:
        await admin.close()
