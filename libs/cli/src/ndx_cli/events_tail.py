"""`ndx events tail`: decoded change events, one JSON object a line."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf import json_format
from google.protobuf.message import Message

from ndx_runtime.envelope import Headers
from ndx_runtime.kafka_connection import KafkaTarget, kafka_options
from ndx_runtime.topics import topic_partitions

from .grpc_client import message_class


def decode_record(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """A record as JSON: key, headers, and the value decoded by its ce_type when known."""
    headers = list(record.headers or ())
    out: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": record.key.decode(errors="replace") if record.key is not None else None,
        "headers": {k: v.decode(errors="replace") for k, v in headers},
    }
    if record.value is None:
        out["value"] = None  # tombstone
        return out
    decoded = decode_value(headers, record.value)
    if decoded is None:  # unknown type or not protobuf: show the bytes, never drop the record
        out["value_base64"] = base64.b64encode(record.value).decode()
    else:
        out["value"] = decoded
    return out


def decode_value(headers: Headers, value: bytes) -> dict[str, Any] | None:
    """The value as proto3 JSON when its CloudEvents type (ce_type) is a known message."""
    ce_type = next((v for k, v in headers if k == "ce_type"), None)
    cls = _message_class(ce_type) if ce_type else None
    if cls is None:
        return None
    try:
        return json_format.MessageToDict(cls.FromString(value), preserving_proto_field_name=True)
    except Exception:  # bytes that do not parse as their declared type
        return None


@functools.lru_cache(maxsize=256)
def _message_class(ce_type: bytes) -> type[Message] | None:
    try:
        return message_class(ce_type.decode())
    except (KeyError, UnicodeDecodeError):
        return None


async def tail(
    kafka: KafkaTarget,
    topic: str,
    *,
    from_beginning: bool,
    max_records: int | None,
    idle_timeout: float,
    key: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Follows a topic (no consumer group, nothing committed); stops after `idle_timeout` quiet
    seconds when it is not 0."""
    wanted = key.encode() if key is not None else None
    consumer = AIOKafkaConsumer(**kafka_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        count = await topic_partitions(kafka, topic)
        if not count:
            raise LookupError(f"topic {topic!r} does not exist")
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        seen = 0
        while max_records is None or seen < max_records:
            batch = await consumer.getmany(timeout_ms=int(idle_timeout * 1000) or 1000)
            if not batch and idle_timeout:
                return
            for records in batch.values():
                for record in records:
                    if wanted is not None and record.key != wanted:
                        continue
                    yield decode_record(record)
                    seen += 1
                    if max_records is not None and seen >= max_records:
                        return
    finally:
        await consumer.stop()


def dumps(event: dict[str, Any], compact: bool) -> str:
    return json.dumps(event, ensure_ascii=False, indent=None if compact else 2)
