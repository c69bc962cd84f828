"""Update times of aggregates: a change never moves them back, in whatever order it arrives."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any, Self

from ndx_runtime.aggregate import latest, record_changed

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Record:
    a: str = ""
    b: str = ""
    version: int = 1
    updated_at: datetime | None = T0
    events: list[Any] = field(default_factory=list)

    def snapshot(self) -> Self:
        return replace(self, events=[])


def test_changes_applied_in_any_order_leave_the_same_update_time() -> None:
    changes = [("a", "x", T0 + timedelta(hours=2)), ("b", "y", T0 + timedelta(hours=1))]
    outcomes = set()
    for order in permutations(changes):
        record = Record()
        for name, value, at in order:
            before = record.snapshot()
            setattr(record, name, value)
            assert record_changed(record, before, at, ("a", "b"))
        outcomes.add((record.a, record.b, record.version, record.updated_at))
    assert outcomes == {("x", "y", 3, T0 + timedelta(hours=2))}


def test_a_change_stamped_before_the_last_one_keeps_the_later_time() -> None:
    record = Record()
    before = record.snapshot()
    record.a = "x"
    assert record_changed(record, before, T0 - timedelta(days=1), ("a",))
    assert record.updated_at == T0 and record.version == 2
    assert record.events[0].after.updated_at == T0


def test_naive_times_from_sqlite_are_read_as_utc() -> None:
    naive = datetime(2026, 3, 1, 8, 0)
    assert latest(naive, T0 + timedelta(seconds=1)) == T0 + timedelta(seconds=1)
    assert latest(naive, T0 - timedelta(seconds=1)) is naive
    assert latest(None, T0) == T0
