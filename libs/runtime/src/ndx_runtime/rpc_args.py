"""Checks and helpers every registry API applies to its requests the same way."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable

from .errors import InvalidInput, Violation

MAX_BATCH = 1000
DEFAULT_PAGE = 100


def batch_size(n: int, field: str, limit: int = MAX_BATCH) -> None:
    if not 1 <= n <= limit:
        raise InvalidInput.one(field, f"must hold 1 to {limit} entries, got {n}")


def page_size(n: int) -> int:
    """The page size asked for, or the default for 0."""
    if n < 0 or n > MAX_BATCH:
        raise InvalidInput.one("page_size", f"must be 0 to {MAX_BATCH}, got {n}")
    return n or DEFAULT_PAGE


def expected_version(v: int) -> None:
    if v <= 0:
        raise InvalidInput.one("expected_version", "must be the version you read (1 or more)")


def each(values: Iterable[str], field: str, check: Callable[[str, str], object]) -> None:
    """Runs `check(value, "field[i]")` on every value and reports all violations together."""
    problems: list[Violation] = []
    for i, value in enumerate(values):
        try:
            check(value, f"{field}[{i}]")
        except InvalidInput as e:
            problems.extend(e.violations)
    if problems:
        raise InvalidInput(problems)


def ward_code(value: str, field: str = "ward_code") -> None:
    if not (len(value) == 5 and value.isdigit()):
        raise InvalidInput.one(field, "must be a 5-digit ward code")


def exactly_one(field: str, **chosen: bool) -> str:
    """The name of the one filter set; InvalidInput naming them all otherwise."""
    set_ = [name for name, on in chosen.items() if on]
    if len(set_) != 1:
        raise InvalidInput.one(field, f"set exactly one of {', '.join(chosen)}")
    return set_[0]


class PageTokens:
    """Opaque keyset page tokens bound to the filter they were issued for."""

    @staticmethod
    def _fingerprint(filter_: object) -> str:
        return hashlib.sha256(repr(filter_).encode()).hexdigest()[:16]

    @classmethod
    def encode(cls, after: str, filter_: object) -> str:
        raw = json.dumps({"a": after, "f": cls._fingerprint(filter_)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, filter_: object) -> str:
        """The key to continue after ("" for the first page)."""
        if not token:
            return ""
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            after, fingerprint = str(data["a"]), str(data["f"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput.one("page_token", "is not a token this service issued") from None
        if fingerprint != cls._fingerprint(filter_):
            raise InvalidInput.one("page_token", "was issued for a different filter")
        return after


def next_token(page: list[object], size: int, key: str, filter_: object) -> str:
    """A token for the page after `page[:size]` when the query returned more than `size`."""
    if len(page) <= size:
        return ""
    return PageTokens.encode(str(getattr(page[size - 1], key)), filter_)


def update_paths(paths: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """The update mask's paths; InvalidInput naming each one that may not be updated."""
    chosen = list(paths)
    if not chosen:
        raise InvalidInput.one("update_mask", "must name at least one field to change")
    names = ", ".join(sorted(allowed))
    bad = [
        Violation("update_mask", f"{p!r} cannot be updated (allowed: {names})")
        for p in chosen
        if p not in allowed
    ]
    if bad:
        raise InvalidInput(bad)
    return chosen
