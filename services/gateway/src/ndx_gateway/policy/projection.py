"""Cutting responses down to the granted fields, by walking protobuf descriptors.

Every occurrence of a registry resource (a Citizen, a Parcel, an Enterprise) anywhere in a
response, also inside lists and batch results, keeps only the fields its grant allows; the
paths removed are returned so the caller can name them (`x-ndx-redacted`), and the paths kept
so the audit log can say what was disclosed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from .fields import FieldSet


@dataclass
class Projection:
    removed: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)


def project(message: Message, resources: Iterable[str], grants: dict[str, FieldSet]) -> list[str]:
    """Clears, in place, every field of a resource that is not granted (a resource without a
    grant keeps nothing: default deny); returns the removed paths, sorted and unique."""
    return sorted(cut(message, resources, grants).removed)


def cut(message: Message, resources: Iterable[str], grants: dict[str, FieldSet]) -> Projection:
    """Like `project`, and also reports the paths that were kept."""
    rules = {r: grants.get(r, FieldSet()) for r in resources}
    result = Projection()
    _walk(message, rules, result)
    return result


def _walk(message: Message, rules: dict[str, FieldSet], result: Projection) -> None:
    name = message.DESCRIPTOR.full_name
    if name in rules:
        _cut(message, rules[name], result, name)
        return
    resources = frozenset(rules)
    for fd, value in message.ListFields():
        if fd.type != FieldDescriptor.TYPE_MESSAGE or not _reaches(fd.message_type, resources):
            continue
        for item in value if fd.is_repeated else [value]:
            _walk(item, rules, result)


@cache
def _reaches(descriptor: Descriptor, resources: frozenset[str]) -> bool:
    """Whether a message of this type may hold a resource (so a walk need not look inside
    verification results and other messages that cannot)."""
    seen: set[str] = set()
    todo = [descriptor]
    while todo:
        d = todo.pop()
        if d.full_name in resources:
            return True
        if d.full_name in seen:
            continue
        seen.add(d.full_name)
        todo.extend(fd.message_type for fd in d.fields if fd.message_type is not None)
    return False


def _cut(message: Message, rule: FieldSet, result: Projection, path: str) -> None:
    for fd, value in message.ListFields():
        here = f"{path}.{fd.name}"
        if rule.everything:
            result.kept.add(here)
            continue
        if fd.name not in rule.fields:
            message.ClearField(fd.name)
            result.removed.add(here)
            continue
        sub = rule.fields[fd.name]
        if sub is not None and fd.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if fd.is_repeated else [value]:
                _cut(item, sub, result, here)
        else:
            result.kept.add(here)
