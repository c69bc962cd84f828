"""The composition root: settings, database, Kafka, outbox relay and the gRPC host."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog

from ndx.population.v1 import population_service_pb2, population_service_pb2_grpc
from ndx_runtime.clock import Clock
from ndx_runtime.db import Database, create_schema
from ndx_runtime.grpc_server import ServiceHost, wait_for_shutdown_signal
from ndx_runtime.kafka import create_producer
from ndx_runtime.logs import configure_logging
from ndx_runtime.outbox import OutboxRelay
from ndx_runtime.telemetry import configure_tracing
from ndx_runtime.topics import TopicSpec, ensure_topics

from .adapters.tables import metadata, outbox
from .config import PopulationSettings
from .entrypoints.grpc_api import PopulationApi
from .service_layer.unit_of_work import PopulationUnitOfWork
from .service_layer.views import PopulationViews

log = structlog.get_logger(__name__)
SERVICE_NAME = population_service_pb2.DESCRIPTOR.services_by_name["PopulationService"].full_name


def topic_specs(settings: PopulationSettings) -> list[TopicSpec]:
    """The citizen topic: compacted so the latest state per citizen stays, and time-bounded
    so that deleted citizens' tombstones and old versions eventually go."""
    return [
        TopicSpec(
            settings.citizen_topic,
            settings.topic_partitions,
            {"cleanup.policy": "compact,delete", "retention.ms": str(90 * 24 * 3600 * 1000)},
        )
    ]


@dataclass
class PopulationService:
    """A running registry; `stop()` shuts it down in order."""

    settings: PopulationSettings
    db: Database
    relay: OutboxRelay
    host: ServiceHost
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def new_uow(self) -> PopulationUnitOfWork:
        uow = PopulationUnitOfWork(self.db, outbox, on_commit=self.relay.notify)
        uow.topic = self.settings.citizen_topic
        return uow

    async def stop(self) -> None:
        """Stops taking calls, drains in-flight RPCs, flushes the outbox, closes clients."""
        await self.host.stop()
        with contextlib.suppress(Exception):
            await self.relay.drain(timeout=self.settings.shutdown_grace_seconds)
        await self.relay.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.relay._producer.stop()
        await self.db.dispose()
        log.info("population registry stopped")


async def start(
    settings: PopulationSettings, *, secure: bool = True, clock: Clock | None = None
) -> PopulationService:
    """Builds and starts the registry; nothing connects before this is called."""
    db = Database.from_url(settings.database_url)
    await create_schema(db.engine, metadata)
    await ensure_topics(settings.kafka_bootstrap_servers, topic_specs(settings))
    producer = create_producer(settings.kafka_bootstrap_servers, f"ndx-{settings.service_name}")
    await producer.start()
    relay = OutboxRelay(
        db,
        outbox,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
    )
    host = ServiceHost(settings, secure=secure)
    service = PopulationService(settings, db, relay, host)
    api = PopulationApi(PopulationViews(db), service.new_uow, clock)
    host.add(population_service_pb2_grpc.add_PopulationServiceServicer_to_server, api, SERVICE_NAME)
    service._tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    await host.start()
    return service


async def serve(settings: PopulationSettings | None = None) -> None:
    """Runs the registry until SIGTERM or SIGINT."""
    settings = settings or PopulationSettings()
    configure_logging(settings.log_level, settings.log_format, settings.service_name)
    configure_tracing(settings.service_name, otlp=bool(settings.otlp_endpoint))
    service = await start(settings)
    log.info("population registry ready", port=service.host.port)
    await wait_for_shutdown_signal()
    await service.stop()
