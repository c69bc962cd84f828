"""Consuming another registry's events: a FastStream subscriber in a real consumer group.

Offsets are committed after a record is handled (at least once). A record that can never be
handled (undecodable, unknown type, rejected by the rules) goes to `<topic>.dlq` with the error
in its headers, and the consumer goes on; any other failure (database down) is retried.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from .errors import DomainError
from .topics import TopicSpec, ensure_topics

log = structlog.get_logger(__name__)

ERROR_HEADER = "x-ndx-error"


class PoisonRecord(Exception):
    """A record that no retry will fix; it is dead-lettered."""


@dataclass(frozen=True)
class Delivery:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass
class ConsumerStats:
    """What the consumer has done, per partition: for logs and status commands."""

    handled: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_offset: dict[int, int] = field(default_factory=dict)
    last_log: float = 0.0


Handler = Callable[[Delivery], Awaitable[None]]


class EventConsumer:
    """Runs `handler` for every record of `topic` in consumer group `group_id`."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        handler: Handler,
        *,
        client_id: str = "ndx",
        retry_seconds: float = 1.0,
    ) -> None:
        self.topic, self.group_id = topic, group_id
        self.dlq_topic = f"{topic}.dlq"
        self.stats = ConsumerStats()
        self._handler = handler
        self._retry_seconds = retry_seconds
        self._bootstrap = bootstrap
        self.broker = KafkaBroker(bootstrap, client_id=client_id, logger=None)
        self.broker.subscriber(
            topic,
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )(self._consume)

    async def start(self) -> None:
        """Creates the dead-letter topic if missing, then joins the group."""
        await ensure_topics(self._bootstrap, [TopicSpec(self.dlq_topic, 1, {})])
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def _consume(self, msg: KafkaMessage) -> None:
        record: ConsumerRecord[bytes, bytes] = msg.raw_message
        delivery = Delivery(
            record.topic,
            record.partition,
            record.offset,
            record.key.decode(errors="replace") if record.key is not None else None,
            record.value,
            list(record.headers or ()),
        )
        try:
            await self._handler(delivery)
        except (PoisonRecord, DomainError) as error:
            await self._dead_letter(delivery, error)
        except Exception:
            # Not the record's fault: leave the offset, wait, and let it be consumed again.
            self.stats.retries += 1
            log.exception(
                "event handling failed; will retry",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            await asyncio.sleep(self._retry_seconds)
            raise
        self.stats.handled += 1
        self.stats.last_offset[record.partition] = record.offset
        now = time.monotonic()
        if now - self.stats.last_log > 10:
            self.stats.last_log = now
            log.info(
                "consumer progress",
                topic=self.topic,
                group=self.group_id,
                handled=self.stats.handled,
                dead_lettered=self.stats.dead_lettered,
                last_offsets=self.stats.last_offset,
            )

    async def _dead_letter(self, delivery: Delivery, error: Exception) -> None:
        headers = {k: v.decode(errors="replace") for k, v in delivery.headers}
        headers[ERROR_HEADER] = f"{type(error).__name__}: {error}"[:2000]
        headers["x-ndx-source"] = f"{delivery.topic}/{delivery.partition}/{delivery.offset}"
        await self.broker.publish(
            delivery.value or b"",
            topic=self.dlq_topic,
            key=delivery.key.encode() if delivery.key is not None else None,
            headers=headers,
        )
        self.stats.dead_lettered += 1
        self.stats.last_offset[delivery.partition] = delivery.offset
        log.warning(
            "record dead-lettered",
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            dlq=self.dlq_topic,
            error=headers[ERROR_HEADER],
        )
