"""What a scenario plans: write calls, grouped into the life events they belong to."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from google.protobuf.message import Message

T = TypeVar("T")


@dataclass
class Call:
    """One write call on one entity. When `versioned`, the runner sets the request's
    `expected_version` to the version of the entity's last answer before sending it."""

    registry: str  # "population", "land" or "business"
    method: str  # the gRPC method name, e.g. "UpdateCitizen"
    subject: str  # the id of the entity written
    request: Message
    versioned: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return self.registry, self.subject


@dataclass
class Step:
    """A life event: its calls go out in order, the next one only after the previous succeeded."""

    kind: str
    calls: list[Call] = field(default_factory=list)


class Planner(Protocol):
    """Plans the events of one registry from its local model of what the scenario changed."""

    def plan(self, budget: int) -> Step | None:
        """The next event, of at most `budget` calls; None when no event is possible."""


def pick(rng: random.Random, items: Sequence[T], accept: Callable[[T], bool]) -> T | None:
    """A random item that `accept` takes, drawn a bounded number of times (None if none was);
    a draw consumes the generator the same way on every run, so picks are reproducible."""
    if not items:
        return None
    for _ in range(200):
        item = items[int(rng.random() * len(items))]
        if accept(item):
            return item
    return None


def choose(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    """One of the items, with probability proportional to its weight."""
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def plan_one(
    rng: random.Random,
    budget: int,
    events: Sequence[tuple[Callable[[int], Step | None], float]],
) -> Step | None:
    """An event of a kind drawn by weight; other kinds are tried when the drawn one is not
    possible now (no candidate, or more calls than the budget left)."""
    for _ in range(3 * len(events)):
        step = choose(rng, events)(budget)
        if step is not None:
            return step
    for event, _ in events:
        step = event(budget)
        if step is not None:
            return step
    return None
