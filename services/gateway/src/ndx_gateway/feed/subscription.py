"""One open feed: records read from the aggregate's topic, each cut to the grant in force,
the visible ones audited (one record a batch) and then sent together in one stream message,
each event with the cursor that resumes the feed right after it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import structlog
from google.protobuf import message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from ndx.gateway.v1 import audit_pb2, feed_pb2
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
# A batch's events go out in one stream message, unless that would grow past this: well under
# the 4 MiB a gRPC client accepts by default, whatever the batch and fetch sizes.
MESSAGE_BYTES = 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ShuttingDown(Exception):
    """The gateway is stopping; the subscriber resumes elsewhere from its last cursor."""


@dataclass
class Batch:
    """Serialized SubscribeResponses ready to send (one, unless the batch is very large), and
    what the audit record says about their events."""

    responses: list[bytes] = field(default_factory=list)
    events: int = 0
    subjects: dict[tuple[str, str], None] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


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
        descriptor = pool.FindMessageTypeByName(feed.event)
        self.event_cls = message_factory.GetMessageClass(descriptor)
        # Packed by hand into each FeedEvent's Any: the cut event is serialized once.
        self.type_url = f"type.googleapis.com/{descriptor.full_name}"
        self.trace_id = trace_id
        self.batch_size = batch_size
        self.closing = closing

    async def batches(self) -> AsyncIterator[list[bytes]]:
        """Audited batches, each as the serialized SubscribeResponses that carry it, until the
        gateway stops (ShuttingDown), the policy stops granting the feed (Refused) or the audit
        log fails (FailClosed)."""
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
                # Counted as the audit log records it: handed to the stream.
                self.audit.metrics.delivered(self.feed.aggregate, caller.agency, batch.events)
                yield batch.responses
        raise ShuttingDown()

    def _cut(self, records: list[Record], policy: Policy, grant: Grant) -> Batch:
        batch = Batch()
        response = feed_pb2.SubscribeResponse()
        size = 0
        reader, aggregate, key = self.reader, self.feed.aggregate, self.feed.key
        for record in records:
            reader.advance(record)
            ce_id, ce_type, ce_time = _ce_headers(record)
            event = self._decode(record, ce_type)
            if event is None:
                continue
            change = visible_change(event, policy.resources, grant.read)
            if change is None:
                continue
            subject = str(getattr(event, key))
            batch.subjects[(aggregate, subject)] = None
            collect(event, batch.subjects)
            batch.kept |= change.kept
            batch.removed |= change.removed
            out = response.events.add()
            # The cursor of this event (the position right after it), encoded only for the
            # events that are sent.
            out.cursor = reader.cursor()
            out.event_id = ce_id or f"{record.topic}/{record.partition}/{record.offset}"
            out.type = self.feed.event
            _set_time(out.time, ce_time, record, event)
            out.subject = subject
            out.change.type_url = self.type_url
            out.change.value = value = event.SerializeToString()
            out.fields_redacted.extend(sorted(change.removed))
            batch.events += 1
            size += len(value) + 256
            if size >= MESSAGE_BYTES:
                batch.responses.append(response.SerializeToString())
                response, size = feed_pb2.SubscribeResponse(), 0
        if response.events:
            batch.responses.append(response.SerializeToString())
        return batch

    def _decode(self, record: Record, kind: str | None) -> Message | None:
        """The change event of a record; None for a tombstone (a delete was already sent),
        another type, or a record that is not one (logged: the registry's dead letters have
        it)."""
        if record.value is None:
            return None
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
        await seal(self.audit, record, batch.subjects, grpc.StatusCode.OK, rule, decided=False)

    async def close(self) -> None:
        await self.reader.close()


def _ce_headers(record: Record) -> tuple[str | None, str | None, str | None]:
    """The CloudEvents id, type and time of a record (the first of each), in one pass."""
    ce_id = ce_type = ce_time = None
    for name, value in record.headers or ():
        if name == "ce_id":
            ce_id = ce_id or value.decode()
        elif name == "ce_type":
            ce_type = ce_type or value.decode()
        elif name == "ce_time":
            ce_time = ce_time or value.decode()
    return ce_id, ce_type, ce_time


def _set_time(stamp: Timestamp, ce_time: str | None, record: Record, event: Message) -> None:
    """When the change was made: the CloudEvents time, else the event's, else the record's."""
    if ce_time is not None:
        try:
            # fromisoformat is many times faster than Timestamp.FromJsonString; the latter
            # still reads what it cannot (more than microseconds).
            at = datetime.fromisoformat(ce_time)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            delta = at - _EPOCH
            stamp.seconds = delta.days * 86_400 + delta.seconds
            stamp.nanos = delta.microseconds * 1000
            return
        try:
            stamp.FromJsonString(ce_time)
            return
        except ValueError:
            pass
    changed = getattr(event, "change_time", None)
    if isinstance(changed, Timestamp) and changed.ByteSize():
        stamp.CopyFrom(changed)
        return
    stamp.FromMilliseconds(record.timestamp)


def shutting_down() -> grpc.Status:
    return rich_status(
        grpc.StatusCode.UNAVAILABLE,
        "the gateway is shutting down; subscribe again from the last cursor",
        reason="SHUTTING_DOWN",
    )
