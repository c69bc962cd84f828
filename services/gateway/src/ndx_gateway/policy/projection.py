"""Cutting responses down to the granted fields, by walking protobuf descriptors.

Every occurrence of a registry resource (a Citizen, a Parcel, an Enterprise) anywhere in a
response, also inside lists and batch results, keeps only the fields its grant allows; the
paths removed are returned so the caller can name them (`x-ndx-redacted`).
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from .fields import FieldSet


def project(message: Message, resources: Iterable[str], grants: dict[str, FieldSet]) -> list[str]:
    """Clears, in place, every field of a resource that is not granted (a resource without a
    grant keeps nothing: default deny); returns the removed paths, sorted and unique."""
    rules = {r: grants.get(r, FieldSet()) for r in resources}
    removed: set[str] = set()
    _walk(message, rules, removed)
    return sorted(removed)


def _walk(message: Message, rules: dict[str, FieldSet], removed: set[str]) -> None:
    name = message.DESCRIPTOR.full_name
    if name in rules:
        _cut(message, rules[name], removed, name)
        return
    for fd, value in message.ListFields():
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for item in value if fd.is_repeated else [value]:
            _walk(item, rules, removed)


def _cut(message: Message, rule: FieldSet, removed: set[str], path: str) -> None:
    if rule.everything:
        return
    for fd, value in message.ListFields():
        if fd.name not in rule.fields:
            message.ClearField(fd.name)
            removed.add(f"{path}.{fd.name}")
            continue
        sub = rule.fields[fd.name]
        if sub is not None and fd.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if fd.is_repeated else [value]
            for item in items:
                _cut(item, sub, removed, f"{path}.{fd.name}")
