"""A mirroring registry stopped by SIGTERM leaves its consumer group's offsets committed up to
what it handled: nothing handled is read again, nothing unhandled is skipped."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import func, select

from ndx.common.v1 import types_pb2
from ndx.population.v1 import events_pb2
from ndx_cli.consumer_groups import group_status
from ndx_cli.stack.children import ServiceProcess, settings_env
from ndx_land.adapters.tables import inbox
from ndx_land.config import LandSettings
from ndx_population.config import PARTITIONS
from ndx_population.subscribers import SOURCE
from ndx_runtime.db import Database
from ndx_runtime.envelope import change_event
from ndx_runtime.kafka import create_producer
from ndx_runtime.topics import ensure_topics, entity_topic

CITIZENS = 300


def renamed(n: int) -> events_pb2.CitizenChanged:
    event = events_pb2.CitizenChanged(
        citizen_id=f"0011900{n:05d}", op=types_pb2.CHANGE_OP_UPDATE, version=2
    )
    event.after.full_name = f"Nguyễn Văn {n}"
    event.changed_fields.paths.append("full_name")
    event.change_time.GetCurrentTime()
    return event


async def publish(bootstrap: str, topic: str) -> None:
    await ensure_topics(bootstrap, [entity_topic(topic, PARTITIONS)])
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        records = [
            change_event(topic, e, key=e.citizen_id, source=SOURCE)
            for e in map(renamed, range(CITIZENS))
        ]
        sent = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def seen(url: str) -> int:
    """Citizens whose events the registry has applied (its inbox)."""
    db = Database.from_url(url)
    try:
        count = select(func.count()).select_from(inbox)
        return await db.read(lambda c: int(c.execute(count).scalar_one()))
    finally:
        await db.dispose()


async def test_land_exits_on_sigterm_with_every_handled_offset_committed(
    kafka_bootstrap: str, pki: Path, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.population.citizen.v1"
    await publish(kafka_bootstrap, topic)
    settings = LandSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'land.db'}",
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "land.crt",
        tls_key_file=pki / "land.key",
        tls_ca_file=pki / "ca.crt",
        parcel_topic=f"test.{unique}.land.parcel.v1",
        citizen_topic=topic,
        consumer_group=f"test.{unique}.land",
        gateway_address="",  # no writes here: nothing to verify
        shutdown_grace_seconds=60,
        log_format="json",
    )
    env = settings_env(settings, os.environ)
    process = await ServiceProcess.start(
        [sys.executable, "-m", "ndx_land"], env, tmp_path / "land.log"
    )
    try:
        await process.logged("grpc serving")
        async with asyncio.timeout(60):
            while await seen(settings.database_url) < CITIZENS:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.05)
        # Handled and stored; the batch's offsets may still be on their way to the broker.
        assert await process.terminate() == 0, process.log_file.read_text()
    finally:
        process.kill()

    partitions = await group_status(kafka_bootstrap, settings.consumer_group, [topic])
    assert sum(p.end for p in partitions) == CITIZENS
    assert [(p.partition, p.committed) for p in partitions] == [
        (p.partition, p.end) for p in partitions
    ]
