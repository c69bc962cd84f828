"""The transactional outbox: an event is a row written in the same transaction as the change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from opentelemetry.trace import Span
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from .batches import Outgoing, send_batches
from .db import Database, is_sqlite
from .envelope import Headers
from .kafka_tracing import end_spans, send_span
from .metrics import Metrics

log = structlog.get_logger(__name__)

# While publishing, the backlog gauges are refreshed (one COUNT) at most this often.
BACKLOG_SECONDS = 1.0

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
_ID = BigInteger().with_variant(Integer(), "sqlite")


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table in a service's own schema; ids give the publication order."""
    return Table(
        "outbox",
        metadata,
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("topic", String(249), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=True),
        Column("headers", Text, nullable=False),  # JSON list of [name, value] pairs
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def encode_headers(headers: Headers) -> str:
    return json.dumps([[k, v.decode()] for k, v in headers], separators=(",", ":"))


def decode_headers(text: str) -> Headers:
    return [(k, v.encode()) for k, v in json.loads(text)]


class OutboxRelay:
    """Publishes committed outbox rows to Kafka in id order, then deletes exactly those rows.

    A crash between produce and delete republishes the batch on restart: delivery is at least
    once, and consumers skip versions they have already applied. Nothing committed is lost.
    When only the database fails between the two (the process lives on), the relay remembers
    what it published and deletes it once the database is back, publishing nothing twice.
    """

    def __init__(
        self,
        db: Database,
        table: Table,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 0.5,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._table = table
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._publishing = asyncio.Lock()
        self._stopping = False
        self._leader: AsyncConnection | None = None
        self.published = 0
        # Ids published whose delete failed, deleted first once the database answers again.
        # PostgreSQL never hands out an id twice; SQLite may reuse the highest rowid once its
        # row is gone, so there a failed delete leaves the rows to be published again.
        self._undeleted: list[int] = []
        self._remember = not is_sqlite(db.engine)
        # The Java client's murmur2 partitioner, so that every producer agrees on key placement.
        self._partitioner = DefaultPartitioner()
        self._metrics = metrics or Metrics()
        self._oldest: datetime | None = None
        self._measured = 0.0
        self._metrics.outbox_oldest_age.set_function(self._oldest_age)

    def notify(self) -> None:
        """Wakes the relay: a transaction just committed events."""
        self._wake.set()

    async def run(self) -> None:
        """Publishes until stop(); retries with back-off while Kafka or the database is down."""
        backoff = 0.2
        while not self._stopping:
            try:
                if not await self._lead():
                    await self._measure(None)
                    await self._sleep(self._poll_seconds * 4)
                    continue
                n = await self._publish_measuring()
                await self._measure(n)
                backoff = 0.2
            except (KafkaError, OSError, SQLAlchemyError) as e:
                log.warning("outbox relay failed; retrying", error=repr(e), retry_in=backoff)
                await self._release_leadership()
                await self._measure(None)  # the backlog grows while Kafka is away
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if n < self._batch_size:
                await self._sleep(self._poll_seconds)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await self._release_leadership()

    async def drain(self, timeout: float = 30.0) -> int:
        """Publishes until the outbox is empty; returns how many records went out."""
        total = 0
        async with asyncio.timeout(timeout):
            while n := await self.publish_batch():
                total += n
        return total

    async def backlog(self) -> tuple[int, datetime | None]:
        """Rows waiting and the creation time of the oldest."""
        t = self._table
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(select(func.count(), func.min(t.c.created_at)))).one()
        return int(row[0]), row[1]

    async def _publish_measuring(self) -> int:
        """Publishes a batch; while Kafka keeps it waiting, the backlog gauges are refreshed
        every BACKLOG_SECONDS. (The idempotent producer retries a batch until the broker
        acknowledges it, however long it is away: the relay waits here, not in the back-off
        loop, while the writes go on filling the outbox.)"""
        publishing = asyncio.ensure_future(self.publish_batch())
        try:
            while True:
                done, _ = await asyncio.wait({publishing}, timeout=BACKLOG_SECONDS)
                if done:
                    return publishing.result()
                with contextlib.suppress(OSError, SQLAlchemyError):  # the database is away too
                    await self.measure()
        finally:
            publishing.cancel()

    async def publish_batch(self) -> int:
        """Publishes the oldest rows; one batch at a time, whoever calls (run loop or drain)."""
        async with self._publishing:
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        t = self._table
        if self._undeleted:
            await self._delete(self._undeleted)
            self._undeleted = []
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(select(t).order_by(t.c.id).limit(self._batch_size))).all()
        if not rows:
            return 0
        await self._produce(rows)
        self.published += len(rows)
        for topic, n in Counter(r.topic for r in rows).items():
            self._metrics.events_published.labels(topic).inc(n)
        # Exactly the published ids: a lower id may belong to a transaction still committing.
        ids = [r.id for r in rows]
        if self._remember:
            self._undeleted = ids
        await self._delete(ids)
        self._undeleted = []
        return len(rows)

    async def _delete(self, ids: list[int]) -> None:
        t = self._table
        async with self._db.write_lock, self._db.engine.begin() as conn:
            await conn.execute(delete(t).where(t.c.id.in_(ids)))

    async def measure(self) -> None:
        """Sets the backlog gauges from the outbox as it is now (one query)."""
        count, oldest = await self.backlog()
        self._gauge(count, oldest)

    async def _measure(self, published: int | None) -> None:
        """Refreshes the backlog gauges after a batch of `published` rows (None: nothing was
        published): for free when the outbox was just found empty, else with one query at
        most every BACKLOG_SECONDS, not one per event."""
        if published == 0:
            self._gauge(0, None)
        elif time.monotonic() - self._measured >= BACKLOG_SECONDS:
            with contextlib.suppress(OSError, SQLAlchemyError):  # the database is away too
                await self.measure()

    def _gauge(self, count: int, oldest: datetime | None) -> None:
        self._measured = time.monotonic()
        self._metrics.outbox_backlog.set(count)
        # SQLite gives back naive datetimes; every row was written in UTC.
        self._oldest = oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=UTC)

    def _oldest_age(self) -> float:
        """Read by the metrics thread at each scrape."""
        oldest = self._oldest
        return 0.0 if oldest is None else max(0.0, time.time() - oldest.timestamp())

    async def _produce(self, rows: Sequence[Row[Any]]) -> None:
        """Sends the rows as record batches, one key one partition, and waits for every ack;
        a row written under a trace is sent under a PRODUCER span of that trace."""
        producer = self._producer
        by_partition: dict[tuple[str, int], list[Outgoing]] = {}
        partitions: dict[str, list[int]] = {}
        spans: list[Span] = []
        try:
            for row in rows:
                if row.topic not in partitions:
                    partitions[row.topic] = sorted(await producer.partitions_for(row.topic))
                all_partitions = partitions[row.topic]
                partition = self._partitioner(row.key, all_partitions, all_partitions)
                span, headers = send_span(row.topic, partition, decode_headers(row.headers))
                if span is not None:
                    spans.append(span)
                by_partition.setdefault((row.topic, partition), []).append(
                    (row.key, row.value, headers)
                )
            await asyncio.gather(*await send_batches(producer, by_partition))
        except BaseException as error:
            end_spans(spans, error)
            raise
        end_spans(spans)

    async def _lead(self) -> bool:
        """On PostgreSQL only one relay of a service publishes: the holder of an advisory lock."""
        if is_sqlite(self._db.engine):
            return True
        if self._leader is not None:
            return True
        conn = await self._db.engine.connect()
        key = zlib.crc32(f"ndx-outbox:{self._table.name}".encode())
        got = (await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar()
        await conn.commit()
        if got:
            self._leader = conn
            log.info("outbox relay is the leader")
            return True
        await conn.close()
        return False

    async def _release_leadership(self) -> None:
        if self._leader is not None:
            conn, self._leader = self._leader, None
            with contextlib.suppress(Exception):
                await conn.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()
