"""Business-rule errors shared by every registry (standard library only, safe for domain code)."""

from __future__ import annotations

from dataclasses import dataclass


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
