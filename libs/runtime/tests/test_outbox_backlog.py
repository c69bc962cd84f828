"""While Kafka does not acknowledge, the outbox relay's backlog gauges keep counting what waits.

With the broker away the idempotent producer retries a batch until it is acknowledged, however
long that takes, and the relay waits on that batch (tests/faults/test_broker_killed.py kills a
real broker). Here a producer that takes batches and acknowledges them only when told stands in
for the broker, so the waiting is exact and needs no network.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, Table, insert

from ndx_runtime.db import Database
from ndx_runtime.metrics import Metrics
from ndx_runtime.outbox import OutboxRelay, encode_headers, outbox_table


class Unacknowledged(AIOKafkaProducer):
    """A producer (never started: no network) whose batches wait for `back()`."""

    def __init__(self) -> None:
        super().__init__(bootstrap_servers="127.0.0.1:9")
        self.away = True
        self.waiting: list[asyncio.Future[Any]] = []
        self.acknowledged = 0

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]:
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        ack.add_done_callback(lambda _: self._count(batch.record_count()))
        if self.away:
            self.waiting.append(ack)
        else:
            ack.set_result(None)
        return ack

    def _count(self, records: int) -> None:
        self.acknowledged += records

    def back(self) -> None:
        self.away = False
        for ack in self.waiting:
            ack.set_result(None)


async def add_rows(db: Database, table: Table, n: int) -> None:
    now = datetime.now(UTC)
    rows = [
        {"topic": "t", "key": b"k", "value": b"v", "headers": encode_headers([]), "created_at": now}
        for _ in range(n)
    ]
    async with db.engine.begin() as conn:
        await conn.execute(insert(table), rows)


def gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None
    return value


async def until(check: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 (the relay's task)
            await asyncio.sleep(0.05)


async def test_the_backlog_is_measured_while_a_batch_waits_for_kafka(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    table = outbox_table(MetaData())
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    producer = Unacknowledged()
    metrics = Metrics()
    relay = OutboxRelay(db, table, producer, poll_seconds=0.1, metrics=metrics)
    running = asyncio.create_task(relay.run())
    try:
        await add_rows(db, table, 1)
        relay.notify()
        await until(lambda: producer.waiting)  # the relay waits for the first row's ack
        await add_rows(db, table, 5)  # and commits go on meanwhile
        await until(lambda: gauge(metrics, "ndx_outbox_backlog_events") == 6)
        assert gauge(metrics, "ndx_outbox_oldest_event_age_seconds") > 0
        assert relay.published == 0

        producer.back()
        await until(lambda: relay.published == 6)
        assert producer.acknowledged == 6
        await until(lambda: gauge(metrics, "ndx_outbox_backlog_events") == 0)
        assert gauge(metrics, "ndx_outbox_oldest_event_age_seconds") == 0
    finally:
        await relay.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await db.dispose()
