"""The field masks a request carries: `read_mask` (fields asked for) and `claim_mask` (fields
claimed in a verification), at any depth, relative to the method's registry resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

FIELD_MASK = "google.protobuf.FieldMask"
KINDS = ("read_mask", "claim_mask")


@dataclass
class Masks:
    read: set[str] = field(default_factory=set)
    claim: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Plan:
    masks: tuple[str, ...]
    nested: tuple[tuple[str, bool], ...]


@cache
def _plan(descriptor: Descriptor) -> _Plan:
    masks, nested = [], []
    for fd in descriptor.fields:
        sub = fd.message_type
        if sub is None:
            continue
        if sub.full_name == FIELD_MASK:
            if fd.name in KINDS:
                masks.append(fd.name)
        elif _reaches_mask(sub):
            nested.append((fd.name, fd.is_repeated))
    return _Plan(tuple(masks), tuple(nested))


@cache
def _reaches_mask(descriptor: Descriptor, _seen: frozenset[str] = frozenset()) -> bool:
    if descriptor.full_name in _seen:
        return False
    for fd in descriptor.fields:
        sub = fd.message_type
        if sub is None:
            continue
        if sub.full_name == FIELD_MASK:
            if fd.name in KINDS:
                return True
        elif _reaches_mask(sub, _seen | {descriptor.full_name}):
            return True
    return False


def masks_of(message: Message) -> Masks:
    found = Masks()
    _collect(message, found)
    return found


def _collect(message: Message, into: Masks) -> None:
    plan = _plan(message.DESCRIPTOR)
    for name in plan.masks:
        paths = getattr(message, name).paths
        if paths:
            (into.read if name == "read_mask" else into.claim).update(paths)
    for name, repeated in plan.nested:
        if repeated:
            for item in getattr(message, name):
                _collect(item, into)
        elif message.HasField(name):
            _collect(getattr(message, name), into)
