"""The lifecycle every registry shares: database, topics, producer, outbox relay, gRPC host."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table

from .consumer import EventConsumer
from .db import Database
from .grpc_server import Register, ServiceHost, wait_for_shutdown_signal
from .kafka import create_producer
from .logs import configure_service_logging
from .metrics import Metrics, MetricsServer, serve_metrics
from .migrations import Migrations
from .outbox import OutboxRelay
from .probes import Probes, prepare_schema, readiness
from .settings import ServiceSettings
from .telemetry import configure_tracing
from .topics import TopicSpec, ensure_topics
from .uow import SqlUnitOfWork

log = structlog.get_logger(__name__)

U = TypeVar("U", bound=SqlUnitOfWork)
S = TypeVar("S", bound=ServiceSettings)


@dataclass
class RunningService:
    """A started service; `stop()` shuts it down in order."""

    settings: ServiceSettings
    db: Database
    producer: AIOKafkaProducer
    relay: OutboxRelay
    host: ServiceHost
    outbox: Table
    probes: Probes
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    consumers: list[EventConsumer] = field(default_factory=list)
    # Clients of other services (closed last, once no call can use them).
    clients: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    metrics_server: MetricsServer | None = None

    def unit_of_work(self, cls: type[U], topic: str) -> Callable[[], U]:
        """A factory of units of work publishing on `topic`, waking the relay on commit."""

        def new() -> U:
            uow = cls(self.db, self.outbox, on_commit=self.relay.notify)
            uow.topic = topic  # type: ignore[attr-defined]
            return uow

        return new

    async def add_consumer(self, consumer: EventConsumer) -> None:
        """Starts consuming another registry's events; stopped first on `stop()`."""
        await consumer.start()
        self.consumers.append(consumer)

    async def stop(self) -> None:
        """Says it is not serving, then stops taking calls and records while in-flight RPCs
        and batches finish (and commit their offsets) within the grace period, publishes what
        the outbox holds, and closes clients."""
        await self.probes.shutting_down()
        await asyncio.gather(self.host.stop(), *(_quietly(c.stop()) for c in self.consumers))
        try:
            published = await self.relay.drain(timeout=self.settings.shutdown_grace_seconds)
            log.info("outbox flushed", published=published)
        except Exception as error:
            # What is left stays in the outbox; the next start publishes it.
            log.warning("outbox not flushed at shutdown", error=repr(error))
        await self.relay.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for close in self.clients:
            await _quietly(close())
        await self.producer.stop()
        await self.db.dispose()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.probes.close()
        log.info("service stopped", service=self.settings.service_name)


async def _quietly(step: Awaitable[None]) -> None:
    """A shutdown step whose failure must not keep the next steps from running."""
    try:
        await step
    except Exception as error:
        log.warning("shutdown step failed", error=repr(error))


async def start_service(
    settings: ServiceSettings,
    *,
    migrations: Migrations,
    outbox: Table,
    topics: list[TopicSpec],
    secure: bool = True,
) -> RunningService:
    """Opens the health port, brings the schema to head (or waits for it), connects everything
    and starts the relay and readiness; the caller adds its APIs, then `host.start()`."""
    probes = await Probes.open(settings)
    try:
        db = Database.from_url(settings.database_url)
        await prepare_schema(settings, db, migrations)
        kafka = settings.kafka
        await ensure_topics(kafka, topics)
        producer = create_producer(kafka, f"ndx-{settings.service_name}")
        await producer.start()
    except BaseException:
        await probes.close()
        raise
    metrics = Metrics()
    relay = OutboxRelay(
        db,
        outbox,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        metrics=metrics,
    )
    host = ServiceHost(settings, secure=secure, rpc_metrics=metrics.rpc)
    service = RunningService(settings, db, producer, relay, host, outbox, probes, metrics=metrics)
    service.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    service.metrics_server = await serve_metrics(metrics, settings)
    # Not Kafka: the outbox holds the events while it is away (see `readiness`).
    await probes.follow(readiness(settings, db, migrations), host)
    return service


async def start_registry(
    settings: ServiceSettings,
    *,
    migrations: Migrations,
    outbox: Table,
    topic: TopicSpec,
    unit_of_work: type[U],
    api: Callable[[RunningService, Callable[[], U]], Any],
    register: Register,
    service_name: str,
    secure: bool = True,
) -> tuple[RunningService, Callable[[], U]]:
    """Starts a registry: its database, its change topic, the outbox relay, and its gRPC API
    (built by `api` from the running service and a factory of units of work)."""
    service = await start_service(
        settings, migrations=migrations, outbox=outbox, topics=[topic], secure=secure
    )
    new_uow = service.unit_of_work(unit_of_work, topic.name)
    service.host.add(register, api(service, new_uow), service_name)
    await service.host.start()
    return service, new_uow


async def serve_until_signal(settings: S, start: Callable[[S], Awaitable[RunningService]]) -> None:
    """Configures logging and tracing, starts the service, and runs it until SIGTERM/SIGINT."""
    configure_observability(settings)
    service = await start(settings)
    settle_heap()
    log.info("ready", service=settings.service_name, port=service.host.port)
    await wait_for_shutdown_signal()
    await service.stop()


def configure_observability(settings: ServiceSettings) -> None:
    """A service process's logging and tracing, as its settings say."""
    configure_service_logging(settings)
    configure_tracing(settings.service_name, otlp=bool(settings.otlp_endpoint))


def settle_heap() -> None:
    """Tunes the cycle collector for a started service.

    What is loaded by now (contracts, gazetteer, tables, clients) lives as long as the process:
    frozen, the full collections stop rescanning it (about 100,000 objects, 70 ms a pass).
    A batch call allocates thousands of short-lived containers; a larger first generation
    collects them a few times a call instead of dozens.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(_FIRST_GENERATION, second, third)


_FIRST_GENERATION = 20_000
