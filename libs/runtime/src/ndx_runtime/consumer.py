"""Consuming another registry's events: a FastStream subscriber in a real consumer group.

Records arrive in batches (whatever one poll returned, up to `max_batch`); offsets are
committed after a batch is handled (at least once). A batch handler may apply a whole batch
in one transaction; if it meets a record that can never be handled (undecodable, unknown type,
rejected by the rules), the batch is handled again record by record, that record goes to
`<topic>.dlq` with the error in its headers, and the consumer goes on. Any other failure
(database down) rewinds to the batch's first records and retries.

Each Kafka client here names the topics it uses: an idle one (a producer yet to send, an admin
client) would otherwise refresh the metadata of every topic of the cluster every five minutes
and keep it, memory that grows with the cluster, not with this consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry.trace import Span

from .errors import DomainError
from .kafka import create_producer
from .kafka_connection import KafkaTarget, broker_options
from .kafka_probe import started
from .kafka_tracing import BatchTrace, failed, under
from .metrics import ConsumerMetrics, Metrics
from .topics import TopicSpec, ensure_topics

log = structlog.get_logger(__name__)

ERROR_HEADER = "x-ndx-error"
# Where the record was: topic/partition/offset.
SOURCE_HEADER = "x-ndx-source"
# Several groups may read one topic; each dead-letters what it cannot handle, and says so.
GROUP_HEADER = "x-ndx-consumer-group"


def dead_letter_topic(topic: str) -> str:
    """Where a consumer of `topic` puts the records it can never handle."""
    return f"{topic}.dlq"


def dead_letter_spec(topic: str) -> TopicSpec:
    """The dead-letter topic of `topic`, as a consumer creates it when missing."""
    return TopicSpec(dead_letter_topic(topic), 1, {})


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
    # The record's CONSUMER span, when it carries a trace context (see kafka_tracing).
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass
class ConsumerStats:
    """What the consumer has done, per partition: for logs and status commands."""

    handled: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_offset: dict[int, int] = field(default_factory=dict)
    last_log: float = 0.0


# A handler may return how many of its records it skipped (already applied, tombstones).
Handler = Callable[[Delivery], Awaitable[int | None]]
BatchHandler = Callable[[list[Delivery]], Awaitable[int | None]]


class EventConsumer:
    """Runs `handler` for every record of `topic` in consumer group `group_id` (or
    `batch_handler` for every batch, falling back to one record at a time on a poison record).
    """

    def __init__(
        self,
        kafka: KafkaTarget,
        topic: str,
        group_id: str,
        handler: Handler | None = None,
        *,
        batch_handler: BatchHandler | None = None,
        max_batch: int = 500,
        client_id: str = "ndx",
        retry_seconds: float = 1.0,
        grace_seconds: float = 15.0,
        metrics: Metrics | None = None,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        self.topic, self.group_id = topic, group_id
        self.dlq_topic = dead_letter_topic(topic)
        self.stats = ConsumerStats()
        self._batch_handler = batch_handler
        self._handler: Handler = handler or self._one_as_batch
        self._retry_seconds = retry_seconds
        self._kafka = kafka
        self._client_id = client_id
        # On stop, a batch being handled gets `grace_seconds` to finish and commit its offsets.
        # The broker only reads: no producer or admin client of its own (topics are made by
        # `start`, dead letters sent by a producer that names its one topic).
        self.broker = KafkaBroker(
            **broker_options(kafka),
            client_id=client_id,
            logger=None,
            graceful_timeout=grace_seconds,
            consumer_only=True,
            allow_auto_create_topics=False,
        )
        self._dead_letters: AIOKafkaProducer | None = None
        self._subscriber = self.broker.subscriber(
            topic,
            title=f"{topic}:{group_id}",
            batch=True,
            max_records=max_batch,
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )
        self._subscriber(self._consume)
        self._metrics = ConsumerMetrics(metrics or Metrics(), topic, group_id, self.dlq_topic)

    async def start(self) -> None:
        """Creates the dead-letter topic if missing, connects its producer, then joins the
        group."""
        await ensure_topics(self._kafka, [dead_letter_spec(self.topic)])
        producer = create_producer(self._kafka, self._client_id)
        await started(producer, self._kafka)
        try:
            # From now on the producer's metadata covers this topic alone.
            await producer.partitions_for(self.dlq_topic)
            self._dead_letters = producer
            await self.broker.start()
        except BaseException:
            self._dead_letters = None
            await producer.stop()
            raise

    async def stop(self) -> None:
        """Stops fetching, lets the batch in hand finish (dead letters sent) and commit, and
        leaves the group."""
        try:
            await self.broker.stop()
        finally:
            if self._dead_letters is not None:
                await self._dead_letters.stop()
                self._dead_letters = None

    async def _one_as_batch(self, delivery: Delivery) -> int | None:
        assert self._batch_handler is not None
        return await self._batch_handler([delivery])

    async def _consume(self, msg: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[bytes, bytes], ...] = msg.raw_message
        headers = [list(r.headers or ()) for r in records]
        traced = BatchTrace(
            self.topic,
            self.group_id,
            [(r.partition, r.offset, h) for r, h in zip(records, headers, strict=True)],
        )
        batch = [
            Delivery(
                r.topic,
                r.partition,
                r.offset,
                r.key.decode(errors="replace") if r.key is not None else None,
                r.value,
                h,
                span,
            )
            for r, h, span in zip(records, headers, traced.spans, strict=True)
        ]
        started = time.time()
        try:
            # The lines logged here carry the batch's trace ids.
            with traced.handling():
                try:
                    skipped, dead = await self._handle(batch)
                except Exception:
                    log.exception(
                        "event handling failed; will retry",
                        topic=self.topic,
                        first_offsets={d.partition: d.offset for d in reversed(batch)},
                    )
                    raise
                self._metrics.done(len(batch), skipped, dead)
                self._metrics.lag(
                    self._subscriber.consumer, {d.partition: d.offset + 1 for d in batch}
                )
                self._progress(records, started)
        except Exception:
            # Not the records' fault: rewind, wait, and let the batch be consumed again.
            self.stats.retries += 1
            self._metrics.retries.inc()
            self._metrics.lag(
                self._subscriber.consumer, {d.partition: d.offset for d in batch[::-1]}
            )
            await asyncio.sleep(self._retry_seconds)
            raise

    def _progress(self, records: tuple[ConsumerRecord[bytes, bytes], ...], started: float) -> None:
        self.stats.handled += len(records)
        for r in records:
            self.stats.last_offset[r.partition] = r.offset
        finished = time.time()
        log.debug(
            "batch handled",
            topic=self.topic,
            records=len(records),
            waited_ms=round(started * 1000 - min(r.timestamp for r in records), 1),
            handled_ms=round((finished - started) * 1000, 1),
        )
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

    async def _handle(self, batch: list[Delivery]) -> tuple[int, int]:
        """Handles a batch; returns how many records were skipped and dead-lettered."""
        if self._batch_handler is not None and len(batch) > 1:
            try:
                return await self._batch_handler(batch) or 0, 0
            except (PoisonRecord, DomainError):
                pass  # find the record at fault: one at a time
        skipped = dead = 0
        for delivery in batch:
            try:
                with under(delivery.span):
                    skipped += await self._handler(delivery) or 0
            except (PoisonRecord, DomainError) as error:
                failed(delivery.span, error)
                await self._dead_letter(delivery, error)
                self.stats.handled -= 1  # counted as dead-lettered instead
                dead += 1
        return skipped, dead

    async def _dead_letter(self, delivery: Delivery, error: Exception) -> None:
        headers = {k: v.decode(errors="replace") for k, v in delivery.headers}
        headers[ERROR_HEADER] = f"{type(error).__name__}: {error}"[:2000]
        headers[SOURCE_HEADER] = f"{delivery.topic}/{delivery.partition}/{delivery.offset}"
        headers[GROUP_HEADER] = self.group_id
        assert self._dead_letters is not None, "the consumer handles records once started"
        await self._dead_letters.send_and_wait(
            self.dlq_topic,
            delivery.value or b"",
            key=delivery.key.encode() if delivery.key is not None else None,
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
        self.stats.dead_lettered += 1
        self._metrics.dead_letters.inc()
        log.warning(
            "record dead-lettered",
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            dlq=self.dlq_topic,
            error=headers[ERROR_HEADER],
        )
