"""The shapes every registry's use cases share; the registries supply only the rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .aggregate import Aggregate, check_version
from .errors import NotFound
from .repository import AggregateRepository
from .uow import SqlUnitOfWork

T = TypeVar("T", bound=Aggregate)
U = TypeVar("U", bound=SqlUnitOfWork)


async def change(
    uow: U,
    repository: Callable[[U], AggregateRepository[T]],
    key: str,
    expected_version: int,
    rule: Callable[[T], Any],
) -> T:
    """An owner's write: load the aggregate, check the version the caller read, apply the
    rule, commit the change with its events."""
    async with uow:
        store = repository(uow)
        entity = await store.get(key)
        if entity is None:
            raise NotFound(store.kind, key)
        check_version(key, expected_version, entity.version)
        rule(entity)
        await uow.commit()
    return entity


def count_changed(entities: Iterable[T], rule: Callable[[T], Any]) -> int:
    """Applies a followed fact to each aggregate; returns how many changed (none on a replay)."""
    changed = 0
    for entity in entities:
        before = entity.version
        rule(entity)
        changed += entity.version != before
    return changed
