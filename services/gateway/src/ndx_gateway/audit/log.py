"""Writing audit records to Kafka: in chain order, acknowledged by the broker before the call
is answered. A record that cannot be written fails the call (fail closed)."""

from __future__ import annotations

import asyncio
import time
import uuid

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ndx.gateway.v1 import audit_pb2

from ..metrics import GatewayMetrics
from .chain import AuditChain

log = structlog.get_logger(__name__)

SOURCE = "//ndx.gov.vn/gateway"
TYPE = "ndx.gateway.v1.AuditRecord"


def audit_headers(chain_id: str, record: audit_pb2.AuditRecord) -> list[tuple[str, bytes]]:
    """A sealed record's CloudEvents headers (binary mode); the id is its place in its chain."""
    return [
        ("ce_id", f"{chain_id}:{record.sequence}".encode()),
        ("ce_source", SOURCE.encode()),
        ("ce_type", TYPE.encode()),
        ("ce_specversion", b"1.0"),
        ("ce_time", record.time.ToJsonString().encode()),
        ("content-type", b"application/protobuf"),
    ]


class AuditUnavailable(Exception):
    """The audit record could not be durably written; the call must not be answered."""


class AuditLog:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        instance: str,
        *,
        timeout: float,
        metrics: GatewayMetrics,
        cool_down: float = 1.0,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.instance = instance
        self.timeout = timeout
        self.cool_down = cool_down
        self.metrics = metrics
        self.chain = AuditChain(self._new_chain_id())
        self._order = asyncio.Lock()
        self._failed_at: float | None = None
        self.written = 0

    def _new_chain_id(self) -> str:
        return f"{self.instance}/{uuid.uuid4().hex[:12]}"

    def healthy(self) -> bool:
        """False for a short while after a write failed: calls are refused up front, before
        they reach a registry, instead of after."""
        failed = self._failed_at
        return failed is None or time.monotonic() - failed > self.cool_down

    async def write(self, record: audit_pb2.AuditRecord) -> None:
        """Seals the record into the chain and waits until Kafka has it (acks=all)."""
        try:
            async with asyncio.timeout(self.timeout):
                # The lock is FIFO: records enter the producer in the order they were sealed.
                async with self._order:
                    data = self.chain.seal(record)
                    chain_id = self.chain.chain_id
                    sent = await self.producer.send(
                        self.topic,
                        data,
                        key=chain_id.encode(),
                        headers=audit_headers(chain_id, record),
                    )
                await sent
        except (TimeoutError, KafkaError) as e:
            self.metrics.audit_failures.inc()
            self._broken(record, e)
            raise AuditUnavailable(f"audit log unavailable: {type(e).__name__}") from e
        self._failed_at = None
        self.written += 1
        self.metrics.audit_written.inc()

    def _broken(self, record: audit_pb2.AuditRecord, error: Exception) -> None:
        """A record that may never be stored leaves a gap; later records start a new chain
        so that the old one ends cleanly where its last stored record is."""
        self._failed_at = time.monotonic()
        old = self.chain.chain_id
        if record.chain_id == old:
            self.chain = AuditChain(self._new_chain_id())
        log.error(
            "audit write failed; calls are refused until Kafka answers",
            error=repr(error),
            chain=old,
            sequence=record.sequence,
            new_chain=self.chain.chain_id,
        )
