"""One open feed: records read from the aggregate's topic, each cut to the grant in force,
the visible ones audited (one record a batch) before they are sent, each with the cursor
that resumes the feed right after it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import structlog
from google.protobuf import any_pb2, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from ndx.gateway.v1 import audit_pb2, feed_pb2
from ndx_runtime.envelope import header
from ndx_runtime.grpc_errors import rich_status

from ..admission import Caller, Refused, denial, seal
from ..audit.log import AuditLog
from ..policy import FEED_METHOD, Feed, Grant, Policy
from ..policy_source import PolicySource
from ..subjects import collect
from .changes import visible_change
from .reader import Record, TopicReader

log = structlog.get_logger(__name__)

# How long a feed waits for records before it looks again whether the gateway is stopping.
POLL_MS = 200


class ShuttingDown(Exception):
    """The gateway is stopping; the subscriber resumes elsewhere from its last cursor."""


@dataclass
class Batch:
    """Serialized FeedEvents ready to send, and what the audit record says about them."""

    events: list[bytes]
    subjects: dict[tuple[str, str], None]
    kept: set[str]
    removed: set[str]


class Subscription:
    def __init__(
        self,
        caller: Caller,
        feed: Feed,
        reader: TopicReader,
        *,
        policy: PolicySource,
        audit: AuditLog,
        pool: DescriptorPool,
        trace_id: str,
        batch_size: int,
        closing: asyncio.Event,
    ) -> None:
        self.caller = caller
        self.feed = feed
        self.reader = reader
        self.policy = policy
        self.audit = audit
        self.event_cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(feed.event))
        self.trace_id = trace_id
        self.batch_size = batch_size
        self.closing = closing

    async def batches(self) -> AsyncIterator[list[bytes]]:
        """Audited batches of serialized FeedEvents, until the gateway stops (ShuttingDown),
        the policy stops granting the feed (Refused) or the audit log fails (FailClosed)."""
        while not self.closing.is_set():
            records = await self.reader.next_batch(timeout_ms=POLL_MS, max_records=self.batch_size)
            if not records:
                continue
            # The policy in force now decides: a reload applies to open feeds too.
            policy = self.policy.current
            caller = self.caller
            decision = policy.decide_feed(caller.agency, caller.purpose, self.feed.aggregate)
            if not decision.allowed or decision.grant is None:
                raise Refused(
                    denial(caller.agency, caller.purpose, FEED_METHOD, decision, policy.version)
                )
            batch = self._cut(records, policy, decision.grant)
            if batch.events:
                await self._audit(batch, policy, decision.rule)
                yield batch.events
        raise ShuttingDown()

    def _cut(self, records: list[Record], policy: Policy, grant: Grant) -> Batch:
        batch = Batch([], {}, set(), set())
        for record in records:
            self.reader.advance(record)
            event = self._decode(record)
            if event is None:
                continue
            change = visible_change(event, policy.resources, grant.read)
            if change is None:
                continue
            subject = str(getattr(event, self.feed.key))
            batch.subjects[(self.feed.aggregate, subject)] = None
            collect(event, batch.subjects)
            batch.kept |= change.kept
            batch.removed |= change.removed
            packed = any_pb2.Any()
            packed.Pack(event)
            batch.events.append(
                feed_pb2.FeedEvent(
                    cursor=self.reader.cursor(),
                    event_id=header(record.headers, "ce_id")
                    or f"{record.topic}/{record.partition}/{record.offset}",
                    type=self.feed.event,
                    time=_time(record, event),
                    subject=subject,
                    change=packed,
                    fields_redacted=sorted(change.removed),
                ).SerializeToString()
            )
        return batch

    def _decode(self, record: Record) -> Message | None:
        """The change event of a record; None for a tombstone (a delete was already sent),
        another type, or a record that is not one (logged: the registry's dead letters have
        it)."""
        if record.value is None:
            return None
        kind = header(record.headers, "ce_type")
        if kind is not None and kind != self.feed.event:
            return None
        try:
            return self.event_cls.FromString(record.value)
        except DecodeError:
            log.warning(
                "feed skipped a record that is not a change event",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            return None

    def new_record(self, policy_version: str) -> audit_pb2.AuditRecord:
        """An audit record of this feed, now, under the trace of its subscription."""
        caller = self.caller
        record = audit_pb2.AuditRecord(
            method=FEED_METHOD,
            agency=caller.agency,
            officer=caller.officer,
            purpose=caller.purpose,
            trace_id=self.trace_id,
            policy_version=policy_version,
        )
        record.time.FromNanoseconds(time.time_ns())
        return record

    async def _audit(self, batch: Batch, policy: Policy, rule: str) -> None:
        record = self.new_record(policy.version)
        record.decision = audit_pb2.DECISION_ALLOW
        record.fields_returned.extend(sorted(batch.kept))
        record.fields_denied.extend(sorted(batch.removed))
        await seal(self.audit, record, batch.subjects, grpc.StatusCode.OK, rule)

    async def close(self) -> None:
        await self.reader.close()


def _time(record: Record, event: Message) -> Timestamp:
    """When the change was made: the CloudEvents time, else the event's, else the record's."""
    stamp = Timestamp()
    ce_time = header(record.headers, "ce_time")
    if ce_time is not None:
        try:
            stamp.FromJsonString(ce_time)
            return stamp
        except ValueError:
            pass
    changed = getattr(event, "change_time", None)
    if isinstance(changed, Timestamp) and changed.ByteSize():
        return changed
    stamp.FromMilliseconds(record.timestamp)
    return stamp


def shutting_down() -> grpc.Status:
    return rich_status(
        grpc.StatusCode.UNAVAILABLE,
        "the gateway is shutting down; subscribe again from the last cursor",
        reason="SHUTTING_DOWN",
    )
