"""Business-rule errors shared by every registry (standard library only, safe for domain code)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Violation:
    """One rejected input field and why."""

    field: str
    description: str


class DomainError(Exception):
    """Base class of the registry's business-rule errors."""


class InvalidInput(DomainError):
    """The input breaks one or more rules; nothing is written."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def one(cls, field: str, description: str) -> InvalidInput:
        return cls([Violation(field, description)])

    def within(self, prefix: str) -> InvalidInput:
        """The same violations with field paths relative to an enclosing message."""
        return InvalidInput(
            [Violation(f"{prefix}.{v.field}", v.description) for v in self.violations]
        )


class NotFound(DomainError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key} not found")


class AlreadyExists(DomainError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key} already exists")


class StaleVersion(DomainError):
    """Optimistic concurrency: the caller read an older version than the one stored."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        self.key, self.expected, self.actual = key, expected, actual
        super().__init__(f"{key}: expected version {expected}, stored version is {actual}")


class RuleBroken(DomainError):
    """A state transition the rules forbid (e.g. recording a second death)."""

    def __init__(self, field: str, description: str) -> None:
        self.field, self.description = field, description
        super().__init__(f"{field}: {description}")


class Unavailable(DomainError):
    """A service the rule depends on cannot answer now (another registry, the gateway); nothing
    is written and the caller may try again."""

    def __init__(self, dependency: str, description: str) -> None:
        self.dependency, self.description = dependency, description
        super().__init__(description)


class Violations:
    """Collects the violations of several checks so that one error names every bad field."""

    def __init__(self) -> None:
        self.found: list[Violation] = []

    def take(self, check: Callable[..., T], *args: Any) -> T | None:
        """`check(*args)`, or None with its violations kept when it raises InvalidInput."""
        try:
            return check(*args)
        except InvalidInput as e:
            self.found.extend(e.violations)
            return None

    def raise_any(self) -> None:
        if self.found:
            raise InvalidInput(self.found)
