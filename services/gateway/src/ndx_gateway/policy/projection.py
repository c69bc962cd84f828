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


# Plans kept per field set: the presence patterns of real messages are few, but a bound keeps
# an odd stream of them from growing memory.
MAX_PLANS = 1024


@dataclass(frozen=True, slots=True)
class _Plan:
    clear: tuple[str, ...]  # fields to clear
    removed: tuple[str, ...]  # their paths
    kept: tuple[str, ...]  # paths of the fields kept whole
    # (index in ListFields, repeated, sub-set, path) of the fields cut further down.
    nested: tuple[tuple[int, bool, FieldSet, str], ...]


def _cut(message: Message, rule: FieldSet, result: Projection, path: str) -> None:
    present = message.ListFields()
    # Cutting decides by field name only: messages of one path with the same fields present
    # are cut the same way, so the decisions are made once (every event of a feed, every
    # item of a list).
    key = (path, tuple([fd.number for fd, _ in present]))
    plan = rule.plans.get(key)
    if plan is None:
        plan = _plan(rule, path, [fd for fd, _ in present])
        if len(rule.plans) < MAX_PLANS:
            rule.plans[key] = plan
    for name in plan.clear:
        message.ClearField(name)
    result.removed.update(plan.removed)
    result.kept.update(plan.kept)
    for index, repeated, sub, here in plan.nested:
        value = present[index][1]
        for item in value if repeated else [value]:
            _cut(item, sub, result, here)


def _plan(rule: FieldSet, path: str, present: list[FieldDescriptor]) -> _Plan:
    clear: list[str] = []
    removed: list[str] = []
    kept: list[str] = []
    nested: list[tuple[int, bool, FieldSet, str]] = []
    for index, fd in enumerate(present):
        here = f"{path}.{fd.name}"
        if rule.everything:
            kept.append(here)
        elif fd.name not in rule.fields:
            clear.append(fd.name)
            removed.append(here)
        elif (sub := rule.fields[fd.name]) is not None and fd.type == FieldDescriptor.TYPE_MESSAGE:
            nested.append((index, fd.is_repeated, sub, here))
        else:
            kept.append(here)
    return _Plan(tuple(clear), tuple(removed), tuple(kept), tuple(nested))
