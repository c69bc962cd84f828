"""What every registry's aggregates share: a version, pending change events, field diffs.

An aggregate is a dataclass with `version`, `updated_at` and `events` fields and a
`snapshot()` returning a detached copy. Its rules call `record_created` / `record_changed`;
the unit of work publishes the pending changes with the rows, in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from .errors import StaleVersion

BOOKKEEPING = frozenset({"version", "updated_at", "events"})


class Op:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Aggregate(Protocol):
    version: int
    updated_at: Any
    events: list[Any]

    def snapshot(self) -> Self: ...


A = TypeVar("A")
T = TypeVar("T", bound=Aggregate)


@dataclass(frozen=True, slots=True)
class Change(Generic[A]):
    """One committed change of one aggregate: what its registry publishes."""

    op: str
    before: A | None
    after: A | None
    changed_fields: tuple[str, ...]

    @property
    def entity(self) -> A:
        entity = self.after if self.after is not None else self.before
        assert entity is not None
        return entity


def data_fields(cls: type[Any]) -> tuple[str, ...]:
    """The dataclass fields that carry data (not version, update time or pending events)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in BOOKKEEPING)


def diff(before: object, after: object, names: Iterable[str]) -> tuple[str, ...]:
    """Names of the fields whose values differ."""
    return tuple(n for n in names if getattr(before, n) != getattr(after, n))


def record_created(entity: T, now: datetime, changed: tuple[str, ...]) -> None:
    """Version 1 and a CREATE event carrying the new state."""
    entity.version = 1
    entity.updated_at = now
    entity.events.append(Change(Op.CREATE, None, entity.snapshot(), changed))


def record_changed(entity: T, before: T, now: datetime, names: Iterable[str]) -> bool:
    """Bumps the version and queues an UPDATE event when a data field differs from `before`;
    returns whether anything changed (a no-op write publishes nothing)."""
    changed = diff(before, entity, names)
    if not changed:
        return False
    entity.version += 1
    entity.updated_at = latest(entity.updated_at, now)
    entity.events.append(Change(Op.UPDATE, before, entity.snapshot(), changed))
    return True


def latest(current: datetime | None, now: datetime) -> datetime:
    """The later of an aggregate's update time and a change's time: the update time never moves
    back. Changes derived from other registries' events carry those events' times, and events
    on different partitions may be applied in either order; the later time wins either way, so
    a replay rebuilds the same state. (SQLite returns naive datetimes; they are UTC.)"""
    if current is None:
        return now
    return now if _utc(now) >= _utc(current) else current


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_version(key: str, expected: int, actual: int) -> None:
    """Optimistic concurrency: the caller must have read the current version."""
    if expected != actual:
        raise StaleVersion(key, expected, actual)
