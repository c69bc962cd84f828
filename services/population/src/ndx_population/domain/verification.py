"""Verifying claims about a citizen without disclosing stored values (yes/no, after Aadhaar)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from typing import Any

from .model import CODE_FIELDS, TEXT_FIELDS, Citizen, normalise_name
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


def _overall(results: list[Result] | tuple[Result, ...]) -> Result:
    if results and all(r is Result.MATCH for r in results):
        return Result.MATCH
    if Result.MISMATCH in results:
        return Result.MISMATCH
    return Result.UNKNOWN


@lru_cache(maxsize=4096)
def overall(results: tuple[Result, ...]) -> Result:
    """MATCH when every claim matches, MISMATCH when any differs, otherwise UNKNOWN."""
    return _overall(results)


def verify(
    stored: Citizen | None, claims: Citizen, paths: list[str]
) -> tuple[Result, list[Result]]:
    """Overall result and one result per claimed path; an unknown citizen gives UNKNOWN."""
    if stored is None:
        return Result.UNKNOWN, [Result.UNKNOWN] * len(paths)
    results = [compare(value_at(claims, p), value_at(stored, p)) for p in paths]
    return _overall(results), results


# -- the same rules, a column at a time -------------------------------------------------------
# `compare` finds a value's kind on every call. A batch knows each field's kind up front and
# compares a whole column of claims with it: each function gives, per pair, exactly what
# `compare(claimed, stored)` gives for values of its kind.

MATCH, MISMATCH, UNKNOWN = Result.MATCH, Result.MISMATCH, Result.UNKNOWN
Column = Sequence[Any]
ColumnRule = Callable[[Column, Column], list[Result]]


def compare_text(claimed: str, stored: str) -> Result:
    """Text as an officer reads it (`normalise_name`); nothing stored is UNKNOWN."""
    if not stored:
        return UNKNOWN
    if claimed == stored or normalise_name(claimed) == normalise_name(stored):
        return MATCH
    return MISMATCH


def compare_texts(claimed: Column, stored: Column) -> list[Result]:
    # Most claims repeat the stored text exactly; only the others need normalising.
    return [
        MATCH if c == s and s else compare_text(c, s) for c, s in zip(claimed, stored, strict=True)
    ]


def compare_dates(claimed: Column, stored: Column) -> list[Result]:
    return [
        UNKNOWN if s is None else MATCH if c == s else MISMATCH
        for c, s in zip(claimed, stored, strict=True)
    ]


def compare_codes(claimed: Column, stored: Column) -> list[Result]:
    """Enumerated values by number; 0 (unspecified) stored is UNKNOWN."""
    return [
        UNKNOWN if not s else MATCH if c == s else MISMATCH
        for c, s in zip(claimed, stored, strict=True)
    ]


def compare_addresses(claimed: Column, stored: Column) -> list[Result]:
    """Addresses (or None): only the parts a claim names are compared, as text."""
    return [
        UNKNOWN if s is None else MISMATCH if c is None else _compare_address(c, s)
        for c, s in zip(claimed, stored, strict=True)
    ]


def compare_each(claimed: Column, stored: Column) -> list[Result]:
    return list(map(compare, claimed, stored))


# The rule of each top-level field a claim may name. Other paths (nested ones such as
# "permanent_address.ward_code") are checked with `verify` on whole citizens.
FIELD_RULES: dict[str, ColumnRule] = {
    **dict.fromkeys(TEXT_FIELDS, compare_texts),
    "date_of_birth": compare_dates,
    "date_of_death": compare_dates,
    **dict.fromkeys(CODE_FIELDS, compare_codes),
    **dict.fromkeys(
        (
            "place_of_birth",
            "hometown",
            "permanent_address",
            "temporary_address",
            "current_address",
        ),
        compare_addresses,
    ),
    # Rare in claims: the general rule, one by one.
    **dict.fromkeys(("other_names", "id_card", "version"), compare_each),
}


@dataclass(frozen=True, slots=True)
class ClaimGroup:
    """The claims of a batch that name the same fields, as columns."""

    paths: tuple[str, ...]
    # Where each claim stands in the batch, and whom it is about.
    positions: Sequence[int]
    citizen_ids: Sequence[str]
    # values[j][k]: what the k-th claim says of paths[j].
    values: Sequence[Column]


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    """Claims about citizens, one per request, in request order.

    Claims naming only fields of FIELD_RULES come in `groups`, a column per field, so that a
    batch of a thousand is compared column by column rather than claim by claim; the others
    in `whole`, by position, as the claimed citizen (checked with `verify`).
    """

    citizen_ids: list[str]
    paths: list[tuple[str, ...]]
    groups: list[ClaimGroup]
    whole: dict[int, Citizen]


Outcome = tuple[Result, tuple[Result, ...]]
Record = Any
# A field's stored values, one per record; records are whatever the store returns per citizen.
StoredColumn = Callable[[Sequence[Record]], Column]


def verify_batch(
    batch: ClaimBatch,
    stored: Mapping[str, Record],
    read: Mapping[str, StoredColumn],
    whole: Mapping[str, Citizen],
) -> list[Outcome]:
    """The outcome of each claim of `batch`, in order, as `verify` gives it.

    `stored` holds a record per citizen on file and `read[field]` makes the stored values of
    a field from records, for every field of the batch's groups; `whole` holds the citizens
    the claims in `batch.whole` are about.
    """
    outcomes: list[Any] = [None] * len(batch.citizen_ids)
    for group in batch.groups:
        records = list(map(stored.get, group.citizen_ids))
        positions, values = group.positions, group.values
        if None in records:
            unknown = _unknown(len(group.paths))
            known = [k for k, r in enumerate(records) if r is not None]
            for k, r in enumerate(records):
                if r is None:
                    outcomes[positions[k]] = unknown
            records = [records[k] for k in known]
            positions = [positions[k] for k in known]
            values = [[column[k] for k in known] for column in values]
        columns = [
            FIELD_RULES[path](claimed, read[path](records))
            for path, claimed in zip(group.paths, values, strict=True)
        ]
        results = list(zip(*columns, strict=True))
        verdicts = zip(map(overall, results), results, strict=True)
        if len(positions) == len(outcomes):  # one group, in order
            outcomes = list(verdicts)
            continue
        for position, outcome in zip(positions, verdicts, strict=True):
            outcomes[position] = outcome
    for position, claimed in batch.whole.items():
        paths = list(batch.paths[position])
        result, each = verify(whole.get(batch.citizen_ids[position]), claimed, paths)
        outcomes[position] = (result, tuple(each))
    return outcomes


@lru_cache(maxsize=256)
def _unknown(n: int) -> Outcome:
    return UNKNOWN, (UNKNOWN,) * n
