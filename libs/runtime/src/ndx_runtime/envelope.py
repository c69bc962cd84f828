"""Event records: protobuf values with CloudEvents Kafka binary-mode headers and trace context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import Message

from .telemetry import inject_headers

CONTENT_TYPE = "application/protobuf"
SPEC_VERSION = "1.0"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One Kafka record as the outbox stores it and the relay produces it (None: tombstone)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: Headers


def change_event(
    topic: str,
    message: Message,
    *,
    key: str,
    source: str,
    time: datetime | None = None,
    event_id: str | None = None,
) -> EventRecord:
    """Wraps a protobuf change event with CloudEvents headers (ce_type = its full name)."""
    when = time or datetime.now(UTC)
    headers: Headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", (event_id or str(uuid.uuid4())).encode()),
        ("ce_source", source.encode()),
        ("ce_type", message.DESCRIPTOR.full_name.encode()),
        ("ce_time", when.isoformat(timespec="microseconds").replace("+00:00", "Z").encode()),
        ("ce_subject", key.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    headers.extend((k, v.encode()) for k, v in inject_headers().items())
    return EventRecord(topic, key.encode(), message.SerializeToString(), headers)


def tombstone(topic: str, key: str) -> EventRecord:
    """A null-valued record so that compacted topics forget the key."""
    return EventRecord(topic, key.encode(), None, [])


def header(headers: Headers | None, name: str) -> str | None:
    """The first value of a header, decoded as UTF-8."""
    for k, v in headers or ():
        if k == name:
            return v.decode()
    return None
