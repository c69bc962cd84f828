"""Prometheus metrics of a service: what every service counts, and the `/metrics` endpoint.

Each running service has a registry of its own (not prometheus_client's global one): tests
and benchmarks start several services in one process, and each must count and serve only
its own calls and events. Label values are bounded (methods, codes, topics, groups,
partitions); no citizen, officer or entity id is ever a label.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from .settings import ServiceSettings

log = structlog.get_logger(__name__)

# Registry lookups take a millisecond or so; a slow upstream or a batch call, seconds.
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The metrics of one service, in a registry of its own, with the process's own
    (process_*, python_gc_*, python_info) beside them."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.rpc = RpcMetrics(registry)
        self.events_published = Counter(
            "ndx_events_published",
            "Events acknowledged by Kafka (outbox relay, audit log), by topic.",
            ["topic"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "ndx_outbox_backlog_events",
            "Outbox rows not yet published, as the relay last measured.",
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "ndx_outbox_oldest_event_age_seconds",
            "Age of the oldest outbox row not yet published (0 when none).",
            registry=registry,
        )
        self.events_consumed = Counter(
            "ndx_events_consumed",
            "Records consumed, by topic, consumer group and outcome "
            "(handled, skipped as already applied, dead_lettered).",
            ["topic", "group", "outcome"],
            registry=registry,
        )
        self.consumer_retries = Counter(
            "ndx_consumer_retries",
            "Batches handed back for another try after a failure that was not the records' "
            "fault (database or broker down).",
            ["topic", "group"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "ndx_consumer_lag_events",
            "Records of a partition not yet consumed by the group (high watermark minus "
            "position), as of the group's last batch.",
            ["topic", "group", "partition"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "ndx_dead_letter_records",
            "Records written to a dead-letter topic, by that topic and the group that gave up.",
            ["topic", "group"],
            registry=registry,
        )


class ConsumerMetrics:
    """What one consumer group counts of one topic, its label values bound once."""

    def __init__(self, metrics: Metrics, topic: str, group: str, dlq_topic: str) -> None:
        consumed = metrics.events_consumed
        self.handled = consumed.labels(topic, group, "handled")
        self.skipped = consumed.labels(topic, group, "skipped")
        self.dead_lettered = consumed.labels(topic, group, "dead_lettered")
        self.retries = metrics.consumer_retries.labels(topic, group)
        self.dead_letters = metrics.dead_letters.labels(dlq_topic, group)
        self._lag = metrics.consumer_lag
        self._topic, self._group = topic, group
        self._partitions: dict[int, Any] = {}

    def done(self, records: int, skipped: int, dead_lettered: int) -> None:
        """Counts a batch handled to the end (a batch retried is counted once, when done)."""
        self.handled.inc(records - skipped - dead_lettered)
        self.skipped.inc(skipped)
        self.dead_lettered.inc(dead_lettered)

    def lag(self, consumer: AIOKafkaConsumer | None, positions: Mapping[int, int]) -> None:
        """Sets each partition's lag at its position (the next offset the group will handle)
        from the high watermark of the consumer's last fetch, no broker round trip; drops
        partitions the group no longer assigns to this consumer."""
        if consumer is None:
            return
        for partition, position in positions.items():
            high = consumer.highwater(TopicPartition(self._topic, partition))
            if high is None:
                continue
            gauge = self._partitions.get(partition)
            if gauge is None:
                gauge = self._partitions[partition] = self._lag.labels(
                    self._topic, self._group, str(partition)
                )
            gauge.set(max(0, high - position))
        assigned = {tp.partition for tp in consumer.assignment()}
        for partition in self._partitions.keys() - assigned:
            self._lag.remove(self._topic, self._group, str(partition))
            del self._partitions[partition]


class RpcMetrics:
    """Calls served, by gRPC service, method and status code, and how long they took."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter(
            "ndx_grpc_server_handled",
            "RPCs completed, by gRPC service, method and status code.",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=registry,
        )
        self.handling = Histogram(
            "ndx_grpc_server_handling_seconds",
            "Time from the call's arrival to its status (for a stream: its whole life).",
            ["grpc_service", "grpc_method"],
            buckets=RPC_BUCKETS,
            registry=registry,
        )
        # The labelled children, looked up once: `.labels()` takes a lock and builds tuples.
        self._methods: dict[str, tuple[Any, dict[grpc.StatusCode, Any]]] = {}

    def observe(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        """Counts one finished call of `method` ("/pkg.Service/Method")."""
        known = self._methods.get(method)
        if known is None:
            known = self._methods[method] = (self.handling.labels(*_split(method)), {})
        histogram, codes = known
        counter = codes.get(code)
        if counter is None:
            counter = codes[code] = self.handled.labels(*_split(method), code.name)
        counter.inc()
        histogram.observe(seconds)

    def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AbstractAsyncContextManager[None]:
        """Times one call and counts its status (a `grpc_wrap.Around`)."""
        return _Timed(self, method, context)


class _Timed(AbstractAsyncContextManager[None]):
    """A class, not a generator-based context manager: this runs on every call."""

    __slots__ = ("_context", "_method", "_rpc", "_started")

    def __init__(
        self, rpc: RpcMetrics, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        self._rpc = rpc
        self._method = method
        self._context = context
        self._started = 0.0

    async def __aenter__(self) -> None:
        self._started = time.perf_counter()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # An abort (the handler's or a refusal's) set the code; a raise leaves it unset.
        code = self._context.code()
        if not isinstance(code, grpc.StatusCode):
            code = _code_of(kind)
        self._rpc.observe(self._method, code, time.perf_counter() - self._started)


def _code_of(kind: type[BaseException] | None) -> grpc.StatusCode:
    if kind is None:
        return grpc.StatusCode.OK
    if issubclass(kind, (asyncio.CancelledError, GeneratorExit)):
        return grpc.StatusCode.CANCELLED  # the caller left, or the server is stopping
    return grpc.StatusCode.UNKNOWN  # what grpc answers for an unhandled exception


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


class MetricsServer:
    """`/metrics` over HTTP, served by prometheus_client from a thread of its own."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self.thread = thread
        self.port: int = server.server_port

    async def stop(self) -> None:
        """Stops serving and waits for the thread (shutdown() waits out its poll interval)."""
        await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()
        await asyncio.to_thread(self.thread.join)


async def serve_metrics(
    metrics: Metrics, settings: ServiceSettings, *, service: str | None = None
) -> MetricsServer | None:
    """Serves `metrics` at http://<grpc_host>:<metrics_port>/metrics (port 0: any free port,
    logged); None when the settings set no metrics port."""
    host, port = settings.grpc_host, settings.metrics_port
    if port is None:
        return None
    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as e:
        variable = f"{settings.model_config.get('env_prefix', '')}METRICS_PORT"
        raise OSError(
            e.errno,
            f"cannot serve metrics on {host}:{port}: {e.strerror}; set {variable} to a free "
            "port, 0 for any, or leave it unset to serve none",
        ) from None
    running = MetricsServer(server, thread)
    log.info(
        "metrics serving",
        service=service or settings.service_name,
        url=f"http://{host}:{running.port}/metrics",
    )
    return running
