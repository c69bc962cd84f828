"""Change events on the wire: every registry's `<Entity>Changed` message has the same shape
(key, op, before, after, changed_fields, version, change_time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from ndx.common.v1 import types_pb2

from .aggregate import Change, Op

M = TypeVar("M", bound=Message)

CHANGE_OPS = {
    Op.CREATE: types_pb2.CHANGE_OP_CREATE,
    Op.UPDATE: types_pb2.CHANGE_OP_UPDATE,
    Op.DELETE: types_pb2.CHANGE_OP_DELETE,
}


def change_message(
    cls: type[M], change: Change[Any], to_proto: Callable[[Any], Message], key_field: str
) -> M:
    """The `<Entity>Changed` message for one change; `key_field` names the entity's key."""
    entity = change.entity
    event = cls(
        op=CHANGE_OPS[change.op],
        version=entity.version,
        changed_fields=FieldMask(paths=list(change.changed_fields)),
    )
    setattr(event, key_field, getattr(entity, key_field))
    if change.before is not None:
        event.before.CopyFrom(to_proto(change.before))  # type: ignore[attr-defined]
    if change.after is not None:
        event.after.CopyFrom(to_proto(change.after))  # type: ignore[attr-defined]
    if entity.updated_at is not None:
        event.change_time.FromDatetime(entity.updated_at.astimezone(UTC))  # type: ignore[attr-defined]
    return event
