"""Where `ndx audit` reads the gateway's audit records: the data tracker (through the gateway,
as the citizen portal), the gateway's index database, or the audit topic itself."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from ndx_gateway.audit.chain import ChainReport, verify
from ndx_gateway.tracker.index import AuditIndex
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ndx.gateway.v1 import data_tracker_pb2, data_tracker_pb2_grpc
from ndx_runtime.db import Database
from ndx_runtime.kafka_connection import KafkaTarget, kafka_options
from ndx_runtime.topics import topic_partitions

from .grpc_client import Identity


class Unreadable(Exception):
    """The records to check could not be read; the message says where and why."""


async def accesses(
    address: str,
    portal: Identity,
    citizen_id: str,
    *,
    page_size: int,
    purpose: str,
    officer: str,
    timeout: float,
) -> AsyncIterator[data_tracker_pb2.Access]:
    """Every recorded access to a citizen's data, newest first, following the pages."""
    metadata = (("x-ndx-purpose", purpose), ("x-ndx-officer", officer))
    async with grpc.aio.secure_channel(address, portal.credentials()) as channel:
        stub = data_tracker_pb2_grpc.DataTrackerServiceStub(channel)
        token = ""
        while True:
            page = await stub.ListAccesses(
                data_tracker_pb2.ListAccessesRequest(
                    citizen_id=citizen_id, page_size=page_size, page_token=token
                ),
                metadata=metadata,
                timeout=timeout,
            )
            for access in page.accesses:
                yield access
            token = page.next_page_token
            if not token:
                return


async def verify_index(url: str) -> ChainReport:
    """Checks the chains stored in the gateway's audit index (each in sequence order)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not await asyncio.to_thread(Path(path).is_file):
            raise Unreadable(f"no audit index at {path or url}; has the gateway run here?")
    db = Database.from_url(url)
    try:
        index = AuditIndex(db)
        return await db.read(lambda conn: verify(index.stored(conn)))
    except SQLAlchemyError as e:
        raise Unreadable(f"cannot read the audit index at {_safe(url)}: {e}") from None
    finally:
        await db.dispose()


async def verify_topic(kafka: KafkaTarget, topic: str) -> ChainReport:
    """Checks the chains on the audit topic, read from the beginning to the end it had when
    the check started. A chain is keyed to one partition, so partition order is chain order."""
    try:
        count = await topic_partitions(kafka, topic)
    except Exception as e:  # the admin client's errors are many; all mean "cannot read"
        raise Unreadable(f"cannot reach Kafka at {kafka}: {e!r}") from None
    if not count:
        raise Unreadable(f"topic {topic!r} does not exist on {kafka}")
    batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=16)
    # verify() walks a plain iterator; it runs in a thread fed batch by batch, so a long
    # topic is never held in memory at once.
    checking = asyncio.create_task(asyncio.to_thread(lambda: verify(_drain(batches))))
    try:
        await _feed(kafka, [TopicPartition(topic, p) for p in range(count)], batches)
    except KafkaError as e:
        raise Unreadable(f"cannot read {topic!r} from {kafka}: {e!r}") from None
    finally:
        await asyncio.to_thread(batches.put, None)
        report = await checking
    return report


async def _feed(
    kafka: KafkaTarget, tps: list[TopicPartition], batches: queue.Queue[list[bytes] | None]
) -> None:
    """Puts the values of every partition, from the beginning to its current end."""
    consumer = AIOKafkaConsumer(**kafka_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        left = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        while left:
            fetched = await consumer.getmany(*left, timeout_ms=1000)
            for tp, records in fetched.items():
                values = [r.value for r in records if r.offset < ends[tp] and r.value is not None]
                if values:
                    await asyncio.to_thread(batches.put, values)
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()


def _drain(batches: queue.Queue[list[bytes] | None]) -> Iterator[bytes]:
    while (batch := batches.get()) is not None:
        yield from batch


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
