"""`ndx.gateway.v1.FeedService/Subscribe`: an agency follows an aggregate's changes. The call
is admitted like any other (certificate, purpose, officer, policy, quota) and its decision
audited; then the subscription streams audited batches until the caller leaves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import grpc
import structlog
from aiokafka.errors import KafkaError
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import DecodeError

from ndx.gateway.v1 import audit_pb2, feed_pb2
from ndx_runtime.grpc_errors import bad_request, rich_status
from ndx_runtime.kafka_connection import KafkaConnection
from ndx_runtime.topics import topic_partitions

from ..admission import (
    AUDIT_DOWN,
    NOT_AUDITED,
    OFFICER,
    PURPOSE,
    Admission,
    FailClosed,
    Refused,
    carrier_of,
    refuse,
    seal,
    server_span,
)
from ..audit.log import AuditLog
from ..policy import FEED_METHOD
from .cursor import Cursor
from .reader import BadStart, Expired, Start, TopicReader
from .subscription import ShuttingDown, Subscription, shutting_down

log = structlog.get_logger(__name__)

Context = grpc.aio.ServicerContext[bytes, bytes]
# Initial metadata: the cursor of the feed's start, to resume from before any event arrived.
CURSOR = "x-ndx-cursor"
# How long a partition count is trusted before the topic is described again.
PARTITIONS_TTL_SECONDS = 30.0
# How long open feeds get to end by themselves when the gateway stops.
CLOSE_GRACE_SECONDS = 1.0


class FeedService:
    def __init__(
        self,
        admission: Admission,
        audit: AuditLog,
        pool: DescriptorPool,
        *,
        kafka: KafkaConnection,
        topics: Mapping[str, str],
        batch_size: int,
        fetch_bytes: int,
        max_subscriptions: int,
    ) -> None:
        self.admission = admission
        self.audit = audit
        self.pool = pool
        self.kafka = kafka
        self.topics = dict(topics)
        self.batch_size = batch_size
        self.fetch_bytes = fetch_bytes
        self.max_subscriptions = max_subscriptions
        self.closing = asyncio.Event()
        self._open: set[asyncio.Task[Any]] = set()
        self._partitions: dict[str, tuple[float, int]] = {}

    @property
    def open_feeds(self) -> int:
        return len(self._open)

    def handler(self) -> grpc.RpcMethodHandler[bytes, bytes]:
        """A raw-bytes server-streaming handler: the request is parsed here, so that a
        malformed one is refused and audited like any other."""
        return grpc.unary_stream_rpc_method_handler(self.subscribe)

    async def subscribe(self, raw: bytes, context: Context) -> AsyncIterator[bytes]:
        if self.closing.is_set():
            status = shutting_down()
            await context.abort(status.code, status.details, status.trailing_metadata)
        if not self.audit.healthy():
            await context.abort(grpc.StatusCode.UNAVAILABLE, AUDIT_DOWN)
        if self.open_feeds >= self.max_subscriptions:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this gateway serves {self.max_subscriptions} feeds at most; retry later",
            )
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        try:
            async for data in self._serve(raw, context):
                yield data
        except FailClosed:
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_AUDITED)
        except ShuttingDown:
            status = shutting_down()
            await context.abort(status.code, status.details, status.trailing_metadata)
        finally:
            self._open.discard(task)

    async def _serve(self, raw: bytes, context: Context) -> AsyncIterator[bytes]:
        carrier = carrier_of(context)
        with server_span(FEED_METHOD, carrier) as record:
            try:
                subscription = await self._open_subscription(raw, context, carrier, record)
            except Refused as refusal:
                await refuse(context, self.audit, record, {}, refusal)
            try:
                # Sent at once: the subscriber knows the feed is open, and where it starts.
                await context.send_initial_metadata(((CURSOR, subscription.reader.cursor()),))
                async for responses in subscription.batches():
                    for data in responses:
                        yield data
            except Refused as refusal:
                # The policy no longer grants the feed: a new decision, audited on its own.
                again = subscription.new_record(self.admission.policy.current.version)
                await refuse(context, self.audit, again, {}, refusal)
            finally:
                await subscription.close()

    async def _open_subscription(
        self,
        raw: bytes,
        context: Context,
        carrier: dict[str, str],
        record: audit_pb2.AuditRecord,
    ) -> Subscription:
        identity = self.admission.identify(context, record)
        try:
            request = feed_pb2.SubscribeRequest.FromString(raw)
        except DecodeError:
            raise Refused(bad_request([("request", "not a valid SubscribeRequest")])) from None
        policy = self.admission.policy.current
        aggregate = request.aggregate
        feed = policy.feeds.get(aggregate)
        if feed is None:
            known = ", ".join(sorted(policy.feeds)) or "none"
            problem = f"unknown aggregate {aggregate!r}; the feeds are: {known}"
            raise Refused(bad_request([("aggregate", problem)]))
        caller = self.admission.admit(
            identity,
            record,
            method=FEED_METHOD,
            purpose=_purpose(request, carrier),
            officer=carrier.get(OFFICER, ""),
            decide=lambda p, agency, purpose: p.decide_feed(agency, purpose, aggregate),
        )
        topic = self.topics.get(aggregate)
        if topic is None:
            raise Refused(
                rich_status(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"the gateway has no topic for the {aggregate} feed (GATEWAY_FEED_TOPICS)",
                ),
                decision=audit_pb2.DECISION_ALLOW,
            )
        reader = await self._reader(topic, _start(request, topic, aggregate))
        try:
            await seal(self.audit, record, {}, grpc.StatusCode.OK, "")
        except BaseException:
            await reader.close()
            raise
        log.info("feed opened", agency=caller.agency, purpose=caller.purpose, aggregate=aggregate)
        return Subscription(
            caller,
            feed,
            reader,
            policy=self.admission.policy,
            audit=self.audit,
            pool=self.pool,
            trace_id=record.trace_id,
            batch_size=self.batch_size,
            closing=self.closing,
        )

    async def _reader(self, topic: str, start: Start) -> TopicReader:
        """The subscriber's reader at its start; Refused (the call was allowed) when the
        start is wrong or the topic cannot be read."""
        allowed = audit_pb2.DECISION_ALLOW
        try:
            partitions = await self._partition_count(topic)
            return await TopicReader.open(
                self.kafka, topic, partitions, start, fetch_bytes=self.fetch_bytes
            )
        except BadStart as bad:
            raise Refused(bad_request([(bad.field, bad.description)]), decision=allowed) from None
        except Expired as expired:
            raise Refused(
                rich_status(grpc.StatusCode.OUT_OF_RANGE, str(expired), reason="CURSOR_EXPIRED"),
                decision=allowed,
            ) from None
        except (KafkaError, LookupError) as error:
            log.warning("feed cannot read its topic", topic=topic, error=repr(error))
            raise Refused(
                rich_status(
                    grpc.StatusCode.UNAVAILABLE, "the change events cannot be read at the moment"
                ),
                decision=allowed,
            ) from None

    async def _partition_count(self, topic: str) -> int:
        now = time.monotonic()
        known = self._partitions.get(topic)
        if known is not None and now - known[0] < PARTITIONS_TTL_SECONDS:
            return known[1]
        count = await topic_partitions(self.kafka, topic)
        if not count:
            raise LookupError(f"topic {topic} does not exist")
        self._partitions[topic] = (now, count)
        return count

    async def close(self) -> None:
        """Ends every open feed: each sees the gateway stopping within a poll and ends with
        UNAVAILABLE; one stuck sending to a subscriber that does not read is cancelled."""
        self.closing.set()
        if not self._open:
            return
        _, stuck = await asyncio.wait(set(self._open), timeout=CLOSE_GRACE_SECONDS)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)


def _purpose(request: feed_pb2.SubscribeRequest, carrier: dict[str, str]) -> str:
    """The purpose, from the request or the x-ndx-purpose metadata; both must agree."""
    given, metadata = request.purpose, carrier.get(PURPOSE, "")
    if given and metadata and given != metadata:
        raise Refused(
            bad_request(
                [("purpose", f"differs from the x-ndx-purpose metadata ({metadata!r}); send one")]
            )
        )
    return given or metadata


def _start(request: feed_pb2.SubscribeRequest, topic: str, aggregate: str) -> Start:
    which = request.WhichOneof("from")
    if which == "cursor":
        try:
            cursor = Cursor.decode(request.cursor)
        except ValueError as e:
            raise Refused(
                bad_request([("cursor", str(e))]), decision=audit_pb2.DECISION_ALLOW
            ) from None
        if cursor.topic != topic:
            raise Refused(
                bad_request([("cursor", f"belongs to another feed, not the {aggregate} feed")]),
                decision=audit_pb2.DECISION_ALLOW,
            )
        return Start(cursor=cursor)
    if which == "start_time":
        try:
            at = request.start_time.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            at = None
        if at is None or at.year < 1970:
            problem = "must be a valid time after 1970-01-01T00:00:00Z"
        elif at > datetime.now(UTC):
            problem = "is in the future; leave `from` empty to follow changes from now on"
        else:
            return Start(time=at)
        raise Refused(bad_request([("start_time", problem)]), decision=audit_pb2.DECISION_ALLOW)
    return Start()
