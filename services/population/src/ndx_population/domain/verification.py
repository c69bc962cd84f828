"""Verifying claims about a citizen without disclosing stored values (yes/no, after Aadhaar)."""

from __future__ import annotations

import enum
from dataclasses import fields, is_dataclass
from typing import Any

from .model import Citizen, normalise_name
from .values import Address


class Result(enum.IntEnum):
    MATCH = 1
    MISMATCH = 2
    UNKNOWN = 3


def value_at(citizen: Citizen, path: str) -> Any:
    """The value at a dotted path (e.g. "permanent_address.ward_code"); None when absent."""
    value: Any = citizen
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == ()
        or (isinstance(value, enum.IntEnum) and value == 0)
    )


def compare(claimed: Any, stored: Any) -> Result:
    """One claim against the stored value; text compares as an officer would read it."""
    if _empty(stored):
        return Result.UNKNOWN
    if isinstance(stored, Address) and isinstance(claimed, Address):
        return _compare_address(claimed, stored)
    if is_dataclass(stored) and is_dataclass(claimed):
        pairs = [(getattr(claimed, f.name), getattr(stored, f.name)) for f in fields(stored)]
        results = [compare(c, s) for c, s in pairs if not _empty(c)]
        return _overall(results) if results else Result.MISMATCH
    if isinstance(stored, str) and isinstance(claimed, str):
        return (
            Result.MATCH if normalise_name(claimed) == normalise_name(stored) else Result.MISMATCH
        )
    if isinstance(stored, tuple) and isinstance(claimed, tuple):
        want = {normalise_name(x) for x in claimed}
        return (
            Result.MATCH
            if want and want <= {normalise_name(x) for x in stored}
            else Result.MISMATCH
        )
    return Result.MATCH if claimed == stored else Result.MISMATCH


def _compare_address(claimed: Address, stored: Address) -> Result:
    """Only the parts the claim names are compared: a ward alone may match an address."""
    parts = [
        (claimed.province_code, stored.province_code),
        (claimed.ward_code, stored.ward_code),
        (claimed.street, stored.street),
    ]
    named = [(c, s) for c, s in parts if c]
    if not named:
        return Result.MISMATCH
    return Result.MATCH if all(compare(c, s) is Result.MATCH for c, s in named) else Result.MISMATCH


def _overall(results: list[Result]) -> Result:
    if results and all(r is Result.MATCH for r in results):
        return Result.MATCH
    if Result.MISMATCH in results:
        return Result.MISMATCH
    return Result.UNKNOWN


def verify(
    stored: Citizen | None, claims: Citizen, paths: list[str]
) -> tuple[Result, list[Result]]:
    """Overall result and one result per claimed path; an unknown citizen gives UNKNOWN."""
    if stored is None:
        return Result.UNKNOWN, [Result.UNKNOWN] * len(paths)
    results = [compare(value_at(claims, p), value_at(stored, p)) for p in paths]
    return _overall(results), results
