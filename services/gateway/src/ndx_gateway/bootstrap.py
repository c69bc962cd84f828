"""The composition root of the gateway."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from aiokafka import AIOKafkaProducer

from ndx_runtime.consumer import BatchHandler, EventConsumer
from ndx_runtime.contracts import load_contracts
from ndx_runtime.db import Database
from ndx_runtime.grpc_server import ServiceHost
from ndx_runtime.kafka import create_producer
from ndx_runtime.metrics import Metrics, MetricsServer, serve_metrics
from ndx_runtime.probes import Probes, prepare_schema, readiness
from ndx_runtime.revocation import Revocations
from ndx_runtime.tls import channel_credentials
from ndx_runtime.topics import TopicSpec, ensure_topics

from .admission import Admission
from .audit.log import AuditLog
from .config import GatewaySettings
from .feed.service import FeedService
from .metrics import GatewayMetrics
from .migrations import MIGRATIONS
from .policy import FEED_METHOD
from .policy_source import PolicySource
from .proxy import Gateway
from .quota import Quotas
from .routes import RouteTable, local_route, upstream_routes
from .tracker.api import DataTracker
from .tracker.index import AuditIndex
from .upstream_limit import InFlightLimit

log = structlog.get_logger(__name__)

SHUTDOWN_KAFKA_SECONDS = 5.0
LIST_ACCESSES = "ndx.gateway.v1.DataTrackerService/ListAccesses"


def audit_topic(settings: GatewaySettings) -> TopicSpec:
    # Audit records are kept until an operator archives them: no time or size limit.
    return TopicSpec(
        settings.audit_topic,
        settings.audit_partitions,
        {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"},
    )


@dataclass
class RunningGateway:
    settings: GatewaySettings
    host: ServiceHost
    policy: PolicySource
    audit: AuditLog
    producer: AIOKafkaProducer
    db: Database
    channels: list[grpc.aio.Channel]
    feeds: FeedService
    metrics: GatewayMetrics
    probes: Probes
    consumer: EventConsumer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    metrics_server: MetricsServer | None = None

    @property
    def port(self) -> int:
        return self.host.port

    async def stop(self) -> None:
        await self.probes.shutting_down()
        # Open feeds never end by themselves: they end first, while the audit log still works.
        await self.feeds.close()
        if self.consumer is not None:
            await _within(self.consumer.stop(), "audit index consumer")
        await self.host.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for channel in self.channels:
            await channel.close(grace=None)
        if not await _within(self.producer.stop(), "audit producer"):
            await self.producer.client.close()
        await self.db.dispose()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.probes.close()
        log.info("gateway stopped")


async def _within(stopping: Coroutine[Any, Any, None], what: str) -> bool:
    """Stops a Kafka client, giving up after SHUTDOWN_KAFKA_SECONDS: with the broker gone, a
    producer would keep retrying the unacknowledged record (whose call already failed) and a
    consumer its offset commit (its records are indexed again on the next start)."""
    try:
        async with asyncio.timeout(SHUTDOWN_KAFKA_SECONDS):
            await stopping
    except TimeoutError:
        log.warning("kafka did not answer at shutdown; stopped without it", client=what)
        return False
    except Exception as error:
        log.warning("kafka client failed to stop cleanly", client=what, error=repr(error))
    return True


def tracker_consumer(
    settings: GatewaySettings, index: BatchHandler, metrics: Metrics | None = None
) -> EventConsumer:
    """The consumer that builds the data tracker's index (`index`) from the audit topic."""
    return EventConsumer(
        settings.kafka,
        settings.audit_topic,
        settings.tracker_consumer_group,
        batch_handler=index,
        client_id="ndx-gateway-tracker",
        grace_seconds=settings.shutdown_grace_seconds,
        metrics=metrics,
    )


@dataclass
class RunningIndexer:
    """A process that only indexes the audit topic (beside serving workers)."""

    consumer: EventConsumer
    db: Database
    metrics_server: MetricsServer | None = None

    async def stop(self) -> None:
        await _within(self.consumer.stop(), "audit index consumer")
        await self.db.dispose()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        log.info("audit indexer stopped")


async def start_indexer(settings: GatewaySettings) -> RunningIndexer:
    await ensure_topics(settings.kafka, [audit_topic(settings)])
    db = Database.from_url(settings.database_url)
    await prepare_schema(settings, db, MIGRATIONS)
    metrics = Metrics()
    consumer = tracker_consumer(settings, AuditIndex(db).apply, metrics)
    await consumer.start()
    log.info("audit indexer running", topic=settings.audit_topic)
    server = await serve_metrics(metrics, settings, service="gateway-indexer")
    return RunningIndexer(consumer, db, server)


async def start(
    settings: GatewaySettings, *, index_audit: bool = True, instance: str | None = None
) -> RunningGateway:
    """Starts a gateway process; `index_audit` makes it also build the data tracker's index
    (one process per deployment does). Worker processes share the health port as they share
    the gRPC port: a probe asks whichever worker the kernel picks, as a call would."""
    probes = await Probes.open(settings, reuse_port=settings.workers > 1)
    try:
        return await _start(settings, probes, index_audit=index_audit, instance=instance)
    except BaseException:
        await probes.close()
        raise


async def _start(
    settings: GatewaySettings, probes: Probes, *, index_audit: bool, instance: str | None
) -> RunningGateway:
    db = Database.from_url(settings.database_url)
    await prepare_schema(settings, db, MIGRATIONS)
    pool = load_contracts()
    policy = PolicySource(settings.policy_file, pool)
    metrics = Metrics()
    gateway_metrics = GatewayMetrics(metrics, policy, settings.audit_topic)
    kafka = settings.kafka
    await ensure_topics(kafka, [audit_topic(settings)])
    producer = create_producer(
        kafka,
        f"ndx-{settings.service_name}",
        linger_ms=0,
        request_timeout_ms=int(settings.audit_timeout_seconds * 1000),
    )
    await producer.start()
    audit = AuditLog(
        producer,
        settings.audit_topic,
        instance or f"{socket.gethostname()}-{os.getpid()}",
        timeout=settings.audit_timeout_seconds,
        metrics=gateway_metrics,
    )
    index = AuditIndex(db)
    credentials = channel_credentials(
        settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file
    )
    channels = {
        name: grpc.aio.secure_channel(
            address, credentials, options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)]
        )
        for name, address in settings.upstreams.items()
    }
    routes = upstream_routes(pool, settings.upstreams, channels)
    routes.append(local_route(pool, LIST_ACCESSES, DataTracker(index, policy).list_accesses))
    revocations = Revocations(settings.tls_crl_file, settings.tls_ca_file)
    admission = Admission(policy, Quotas(), revocations)
    in_flight = InFlightLimit(settings.upstream_max_in_flight, gateway_metrics.upstream_busy)
    gateway_metrics.follow_in_flight(in_flight, settings.upstreams)
    gateway = Gateway(
        admission,
        audit,
        upstream_timeout=settings.upstream_timeout_seconds,
        in_flight=in_flight,
    )
    table = RouteTable(gateway, routes, around=metrics.rpc.around)
    feeds = FeedService(
        admission,
        audit,
        pool,
        kafka=kafka,
        topics=settings.feed_topics,
        batch_size=settings.feed_batch_size,
        fetch_bytes=settings.feed_fetch_bytes,
        max_subscriptions=settings.feed_max_subscriptions,
    )
    table.add(FEED_METHOD, feeds.handler())
    gateway_metrics.open_feeds.set_function(lambda: feeds.open_feeds)
    host = ServiceHost(settings, allow_list=False, observe=False, reuse_port=settings.workers > 1)
    host.add_generic(table, table.services)
    running = RunningGateway(
        settings,
        host,
        policy,
        audit,
        producer,
        db,
        list(channels.values()),
        feeds,
        gateway_metrics,
        probes,
    )
    running.tasks.append(
        asyncio.create_task(policy.watch(settings.policy_poll_seconds), name="policy-watch")
    )
    if index_audit:
        running.consumer = tracker_consumer(settings, index.apply, metrics)
        await running.consumer.start()
    # Kafka too: without the audit log the gateway refuses calls.
    audit_log = (producer, settings.audit_topic)
    await probes.follow(readiness(settings, db, MIGRATIONS, audit_log), host)
    await host.start()
    running.metrics_server = await serve_metrics(metrics, settings)
    log.info(
        "gateway serving",
        port=host.port,
        policy=policy.current.version,
        upstreams=settings.upstreams,
        chain=audit.chain.chain_id,
    )
    return running
