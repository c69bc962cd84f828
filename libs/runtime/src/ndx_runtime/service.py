"""The lifecycle every registry shares: database, topics, producer, outbox relay, gRPC host."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, Table

from .db import Database, create_schema
from .grpc_server import ServiceHost, wait_for_shutdown_signal
from .kafka import create_producer
from .logs import configure_logging
from .outbox import OutboxRelay
from .settings import ServiceSettings
from .telemetry import configure_tracing
from .topics import TopicSpec, ensure_topics

log = structlog.get_logger(__name__)


@dataclass
class RunningService:
    """A started service; `stop()` shuts it down in order."""

    settings: ServiceSettings
    db: Database
    producer: AIOKafkaProducer
    relay: OutboxRelay
    host: ServiceHost
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        """Stops taking calls, drains in-flight RPCs, flushes the outbox, closes clients."""
        await self.host.stop()
        with contextlib.suppress(Exception):
            await self.relay.drain(timeout=self.settings.shutdown_grace_seconds)
        await self.relay.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.producer.stop()
        await self.db.dispose()
        log.info("service stopped", service=self.settings.service_name)


async def start_service(
    settings: ServiceSettings,
    *,
    metadata: MetaData,
    outbox: Table,
    topics: list[TopicSpec],
    secure: bool = True,
) -> RunningService:
    """Connects everything and starts the relay; the caller adds its APIs, then `host.start()`."""
    db = Database.from_url(settings.database_url)
    await create_schema(db.engine, metadata)
    await ensure_topics(settings.kafka_bootstrap_servers, topics)
    producer = create_producer(settings.kafka_bootstrap_servers, f"ndx-{settings.service_name}")
    await producer.start()
    relay = OutboxRelay(
        db,
        outbox,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
    )
    service = RunningService(settings, db, producer, relay, ServiceHost(settings, secure=secure))
    service.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    return service


async def serve_until_signal(
    settings: ServiceSettings, start: Callable[[ServiceSettings], Awaitable[RunningService]]
) -> None:
    """Configures logging and tracing, starts the service, and runs it until SIGTERM/SIGINT."""
    configure_logging(settings.log_level, settings.log_format, settings.service_name)
    configure_tracing(settings.service_name, otlp=bool(settings.otlp_endpoint))
    service = await start(settings)
    log.info("ready", service=settings.service_name, port=service.host.port)
    await wait_for_shutdown_signal()
    await service.stop()
