"""Stored values of claimed fields: one query per batch, only the columns the claims name.

Each field's value is what `value_at(row_to_citizen(row), path)` gives, without a Citizen per
row. On SQLite the query returns the whole answer as one JSON text: the worker thread then
needs the interpreter lock once, not once per row, while the event loop goes on meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, case, func, select

from ndx_runtime.repository import CHUNK

from ..domain.model import CODE_FIELDS, TEXT_FIELDS
from ..domain.values import Address, IdentityCard
from .tables import ADDRESS_FIELDS, citizens

Row = Sequence[Any]
# A field's value from a row whose columns for the field start at the given index.
Convert = Callable[[Row, int], Any]
StoredColumn = Callable[[Sequence[Row]], list[Any]]


def _day_value(value: Any) -> date | None:
    # SQLite hands back the ISO text SQLAlchemy's Date type stores; PostgreSQL a date.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _other_names(row: Row, i: int) -> tuple[str, ...]:
    other = row[i]
    return tuple(other.split("\n")) if other else ()


def _address(row: Row, i: int) -> Address | None:
    province, ward, street = row[i], row[i + 1], row[i + 2]
    if ward is None and province is None:
        return None
    return Address(province or "", ward or "", street or "")


def _card(row: Row, i: int) -> IdentityCard | None:
    issued, place, expires = row[i], row[i + 1], row[i + 2]
    if issued is None and place is None:
        return None
    return IdentityCard(_day_value(issued), place or "", _day_value(expires))


_DATES = ("date_of_birth", "date_of_death")
_PLAIN = (*TEXT_FIELDS, *CODE_FIELDS, "version", *_DATES)
# Per claimable field: its columns, and how their values make the field's value (None: the
# one column's value is the field's, dates aside, which SQLite returns as text).
FIELDS: dict[str, tuple[tuple[str, ...], Convert | None]] = {
    **{name: ((name,), None) for name in _PLAIN},
    "other_names": (("other_names",), _other_names),
    **{
        name: ((f"{name}_province", f"{name}_ward", f"{name}_street"), _address)
        for name in ADDRESS_FIELDS
    },
    "id_card": (("id_card_issue_date", "id_card_issue_place", "id_card_expiry_date"), _card),
}


Wanted = Sequence[tuple[Sequence[str], Sequence[str]]]


def stored_values(
    conn: Connection, wanted: Wanted
) -> tuple[dict[str, Row], dict[str, StoredColumn]]:
    """The rows of the citizens named in `wanted` that are on file, by id; and per field,
    what makes its stored values from rows.

    `wanted` pairs the fields some claims name (top-level fields of FIELDS) with the ids of
    the citizens those claims are about. A field not every claim names is, on SQLite, only
    read for its own citizens (NULL in the other rows): an address or a card claimed by a
    few does not travel for all.
    """
    fields = tuple(sorted({f for names, _ in wanted for f in names}))
    starts, columns = _layout(fields)
    sqlite = conn.dialect.name == "sqlite"
    read = {f: _column(f, i, sqlite) for f, i in zip(fields, starts, strict=True)}
    ids = list(dict.fromkeys(i for _, who in wanted for i in who))
    if not ids:
        return {}, read
    rows = _sqlite_rows(conn, ids, fields, wanted) if sqlite else _rows(conn, ids, columns)
    return dict(zip(map(_FIRST, rows), rows, strict=True)), read


_FIRST = itemgetter(0)


def _column(field: str, i: int, text_dates: bool) -> StoredColumn:
    convert = FIELDS[field][1]
    if convert is not None:
        return lambda rows: [convert(row, i) for row in rows]
    get = itemgetter(i)
    if field in _DATES and text_dates:
        day = date.fromisoformat
        return lambda rows: [None if v is None else day(v) for v in map(get, rows)]
    return lambda rows: list(map(get, rows))


@lru_cache(maxsize=256)
def _layout(paths: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Where each path's columns start in the selected row, and the columns (id first)."""
    columns = ["citizen_id"]
    starts = []
    for path in paths:
        starts.append(len(columns))
        columns.extend(FIELDS[path][0])
    return tuple(starts), tuple(columns)


def _rows(conn: Connection, ids: list[str], columns: tuple[str, ...]) -> Sequence[Row]:
    query = _query(columns)
    found: list[Row] = []
    for start in range(0, len(ids), CHUNK):
        found.extend(conn.execute(query, {"ids": ids[start : start + CHUNK]}).all())
    return found


def _sqlite_rows(
    conn: Connection, ids: list[str], fields: tuple[str, ...], wanted: Wanted
) -> Sequence[Row]:
    everyone = set.intersection(*(set(names) for names, _ in wanted))
    partial = tuple(f for f in fields if f not in everyone)
    params = {"ids": json.dumps(ids)}
    for field in partial:
        who = dict.fromkeys(i for names, group in wanted if field in names for i in group)
        params[f"ids_{field}"] = json.dumps(list(who))
    rows: list[Row] = json.loads(conn.execute(_sqlite_query(fields, partial), params).scalar_one())
    return rows


@lru_cache(maxsize=256)
def _query(columns: tuple[str, ...]) -> Select[Any]:
    key = citizens.c.citizen_id
    return select(*(citizens.c[c] for c in columns)).where(
        key.in_(bindparam("ids", expanding=True))
    )


@lru_cache(maxsize=256)
def _sqlite_query(fields: tuple[str, ...], partial: tuple[str, ...]) -> Select[Any]:
    # Ids go in as JSON arrays (no limit on bound variables), the rows come back as one.
    def listed(name: str) -> Select[Any]:
        return select(func.json_each(bindparam(name)).table_valued("value").c.value)

    key = citizens.c.citizen_id
    columns: list[ColumnElement[Any]] = [key]
    for field in fields:
        for name in FIELDS[field][0]:
            column: ColumnElement[Any] = citizens.c[name]
            if field in partial:
                column = case((key.in_(listed(f"ids_{field}")), column))
            columns.append(column)
    return select(func.json_group_array(func.json_array(*columns))).where(key.in_(listed("ids")))
