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
    nested: tuple[tuple[str, bool, Descriptor], ...]


@cache
def _plan(descriptor: Descriptor) -> _Plan:
    masks: list[str] = []
    nested: list[tuple[str, bool, Descriptor]] = []
    for fd in descriptor.fields:
        sub = fd.message_type
        if sub is None:
            continue
        if sub.full_name == FIELD_MASK:
            if fd.name in KINDS:
                masks.append(fd.name)
        elif _reaches_mask(sub):
            nested.append((fd.name, fd.is_repeated, sub))
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
    _collect(_plan(message.DESCRIPTOR), message, found)
    return found


def _collect(plan: _Plan, message: Message, into: Masks) -> None:
    for name in plan.masks:
        paths = getattr(message, name).paths
        if paths:
            (into.read if name == "read_mask" else into.claim).update(paths)
    for name, repeated, descriptor in plan.nested:
        sub = _plan(descriptor)
        if not repeated:
            if message.HasField(name):
                _collect(sub, getattr(message, name), into)
        elif not sub.nested and len(sub.masks) == 1:
            # A batch's items, each with its own mask: the masks are usually the same.
            kind = into.read if sub.masks[0] == "read_mask" else into.claim
            seen: set[tuple[str, ...]] = set()
            mask = sub.masks[0]
            for item in getattr(message, name):
                paths = tuple(getattr(item, mask).paths)
                if paths and paths not in seen:
                    seen.add(paths)
                    kind.update(paths)
        else:
            for item in getattr(message, name):
                _collect(sub, item, into)
