"""What a service process tells its probes: the health port, readiness (database, schema,
and Kafka for a service that needs it to serve), and the schema brought to head, or waited
for, at start."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer

from .db import Database
from .grpc_server import ServiceHost
from .health import Check, HealthPort, Readiness
from .migrations import Migrations
from .settings import ServiceSettings

log = structlog.get_logger(__name__)


class SchemaNotReady(Exception):
    """The database's schema is behind the migrations this release ships."""


def schema_check(db: Database, migrations: Migrations) -> Check:
    """Passes while the schema is at head (or ahead: migrated by a newer release)."""

    async def check() -> None:
        state = await migrations.state(db.engine)
        if not state.usable:
            raise SchemaNotReady(state.describe())

    return check


def kafka_check(producer: AIOKafkaProducer, topic: str) -> Check:
    """Passes while a broker answers a metadata request for `topic`."""

    async def check() -> None:
        # Known to the client, the topic is what the refresh asks about (not every topic).
        await producer.partitions_for(topic)
        if not await producer.client.force_metadata_update():
            raise ConnectionError("no broker answered a metadata request")

    return check


def readiness(
    settings: ServiceSettings,
    db: Database,
    migrations: Migrations,
    kafka: tuple[AIOKafkaProducer, str] | None = None,
) -> Readiness:
    """The readiness of a service with a database: the database answers and the schema is at
    head; and, given `kafka` (a producer and a topic it writes), a broker answers.

    Only a service that cannot serve without Kafka passes `kafka` (the gateway: no call goes
    unaudited). A registry does not: its outbox holds the events while Kafka is away and the
    relay publishes them once it is back, so it keeps taking calls (the outbox backlog and age
    metrics show the wait); unready, it would be taken out of its Service, refusing the writes
    the outbox exists to hold.
    """
    checks: dict[str, Check] = {"database": db.ping, "schema": schema_check(db, migrations)}
    if kafka is not None:
        checks["kafka"] = kafka_check(*kafka)
    return Readiness(
        checks,
        interval=settings.readiness_interval_seconds,
        timeout=settings.readiness_timeout_seconds,
    )


async def prepare_schema(settings: ServiceSettings, db: Database, migrations: Migrations) -> None:
    """Migrates to head (`migrate_on_start`), or waits, not touching the schema, until it is
    at head (a migration job's work)."""
    if settings.migrate_on_start:
        await migrations.upgrade(db.engine)
        return
    waiting = Readiness(
        {"schema": schema_check(db, migrations)},
        interval=settings.readiness_interval_seconds,
        timeout=settings.readiness_timeout_seconds,
    )
    await waiting.wait()


class Probes:
    """A process's health port (when configured) and the readiness loop behind it."""

    def __init__(self, health_port: HealthPort | None) -> None:
        self.health_port = health_port
        self.readiness: Readiness | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, settings: ServiceSettings, *, reuse_port: bool = False) -> Probes:
        """Starts the health port (alive, not ready) if `health_port` is set."""
        if settings.health_port is None:
            return cls(None)
        port = HealthPort(settings.grpc_host, settings.health_port, reuse_port=reuse_port)
        await port.start()
        return cls(port)

    async def follow(self, readiness: Readiness, host: ServiceHost) -> None:
        """Checks once, then keeps checking in the background; the health port and the
        host's own health service follow the verdict."""
        self.readiness = readiness
        readiness.on_change(host.set_serving)
        if self.health_port is not None:
            readiness.on_change(self.health_port.set_ready)
        await readiness.check()
        self._task = asyncio.create_task(readiness.run(), name="readiness")

    async def shutting_down(self) -> None:
        """Stops checking; from now on the process says it is neither alive nor ready."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.health_port is not None:
            await self.health_port.shutting_down()

    async def close(self) -> None:
        await self.shutting_down()
        if self.health_port is not None:
            await self.health_port.stop()
