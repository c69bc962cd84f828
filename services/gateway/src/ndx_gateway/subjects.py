"""Whose data a call touches: every field marked `(ndx.common.v1.subject)` in the contracts,
found by walking messages along their descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from ndx.common.v1 import annotations_pb2


@dataclass(frozen=True, slots=True)
class _Plan:
    # (field name, subject kind, repeated) for the marked string fields of the message.
    marked: tuple[tuple[str, str, bool], ...]
    # (field name, repeated, message type) for message fields that may hold marked fields
    # further down.
    nested: tuple[tuple[str, bool, Descriptor], ...]
    # The one marked singular field and nothing else to walk (a batch's item, usually): items
    # of a repeated field of this type are read in a tight loop.
    only: tuple[str, str] | None


@cache
def _plan(descriptor: Descriptor) -> _Plan:
    marked: list[tuple[str, str, bool]] = []
    nested: list[tuple[str, bool, Descriptor]] = []
    for fd in descriptor.fields:
        repeated = fd.is_repeated
        kind = fd.GetOptions().Extensions[annotations_pb2.subject]
        if kind and fd.type == FieldDescriptor.TYPE_STRING:
            marked.append((fd.name, kind, repeated))
        elif (sub := fd.message_type) is not None and _reaches_subject(sub):
            nested.append((fd.name, repeated, sub))
    only = None
    if len(marked) == 1 and not marked[0][2] and not nested:
        only = (marked[0][0], marked[0][1])
    return _Plan(tuple(marked), tuple(nested), only)


@cache
def _reaches_subject(descriptor: Descriptor, _seen: frozenset[str] = frozenset()) -> bool:
    if descriptor.full_name in _seen:
        return False
    seen = _seen | {descriptor.full_name}
    for fd in descriptor.fields:
        if (
            fd.type == FieldDescriptor.TYPE_STRING
            and fd.GetOptions().Extensions[annotations_pb2.subject]
        ):
            return True
        if fd.type == FieldDescriptor.TYPE_MESSAGE and _reaches_subject(fd.message_type, seen):
            return True
    return False


def collect(message: Message, into: dict[tuple[str, str], None]) -> None:
    """Adds (kind, id) of every non-empty subject field of `message` to `into` (kept in order
    of first appearance, without repeats)."""
    _walk(_plan(message.DESCRIPTOR), message, into)


def _walk(plan: _Plan, message: Message, into: dict[tuple[str, str], None]) -> None:
    for name, kind, repeated in plan.marked:
        value = getattr(message, name)
        if repeated:
            for item in value:
                if item:
                    into[(kind, item)] = None
        elif value:
            into[(kind, value)] = None
    for name, repeated, descriptor in plan.nested:
        sub = _plan(descriptor)
        if not repeated:
            if message.HasField(name):
                _walk(sub, getattr(message, name), into)
        elif sub.only is not None:
            field, kind = sub.only
            for item in getattr(message, name):
                value = getattr(item, field)
                if value:
                    into[(kind, value)] = None
        else:
            for item in getattr(message, name):
                _walk(sub, item, into)
