"""The initial load: many citizens at once through the driver's fastest path.

SQLite takes a prepared INSERT with executemany (in aiosqlite's thread, so the next batch is
generated meanwhile); PostgreSQL takes COPY. Secondary indexes of an empty table are built after
the load. A bulk load is the registry's starting state, not a change: it emits no events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.model import Citizen
from .rows import COLUMNS, citizen_to_tuple
from .tables import citizens

_DATE_COLUMNS = tuple(i for i, c in enumerate(citizens.columns) if c.type.python_type is date)
_TIME_COLUMNS = tuple(i for i, c in enumerate(citizens.columns) if c.type.python_type is datetime)


def _batches(items: Iterable[Citizen], size: int) -> Iterator[list[Citizen]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _sqlite_row(c: Citizen) -> tuple[Any, ...]:
    # The raw driver gets the text forms SQLAlchemy's SQLite types store and parse back.
    row = list(citizen_to_tuple(c))
    for i in _DATE_COLUMNS:
        if row[i] is not None:
            row[i] = row[i].isoformat()
    for i in _TIME_COLUMNS:
        if row[i] is not None:
            row[i] = row[i].replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return tuple(row)


def _drop_indexes(conn: Connection) -> None:
    for index in citizens.indexes:
        index.drop(conn)


def _create_indexes(conn: Connection) -> None:
    for index in citizens.indexes:
        index.create(conn)


def row_converter(dialect: str) -> Callable[[Citizen], tuple[Any, ...]]:
    """The row form the dialect's fast path takes."""
    return _sqlite_row if dialect == "sqlite" else citizen_to_tuple


async def bulk_load(
    engine: AsyncEngine,
    citizens_: Iterable[Citizen],
    *,
    batch_size: int = 20_000,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Inserts every citizen; returns how many were written."""
    to_row = row_converter(engine.dialect.name)
    batches = ([to_row(c) for c in batch] for batch in _batches(citizens_, batch_size))
    return await load_rows(engine, batches, on_progress=on_progress)


async def load_rows(
    engine: AsyncEngine,
    batches: Iterable[list[tuple[Any, ...]]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Inserts batches of rows already in `row_converter(dialect)` form."""
    async with engine.begin() as conn:
        empty = not (await conn.execute(select(func.count()).select_from(citizens))).scalar()
        if empty:
            await conn.run_sync(_drop_indexes)
        if engine.dialect.name == "sqlite":
            written = await _load_sqlite(conn, batches, on_progress)
        else:
            written = await _load_postgres(conn, batches, on_progress)
        if empty:
            await conn.run_sync(_create_indexes)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(citizens.select().limit(0))
            await conn.exec_driver_sql("ANALYZE citizens")
    return written


async def _pipelined(
    batches: Iterable[list[tuple[Any, ...]]],
    write: Callable[[list[tuple[Any, ...]]], Awaitable[Any]],
    on_progress: Callable[[int], None] | None,
) -> int:
    """Takes the next batch while the database writes the previous one."""
    written = 0
    pending: asyncio.Future[Any] | None = None
    for rows in batches:
        if pending is not None:
            await pending
        pending = asyncio.ensure_future(write(rows))
        written += len(rows)
        if on_progress:
            on_progress(len(rows))
    if pending is not None:
        await pending
    return written


async def _load_sqlite(
    conn: AsyncConnection,
    batches: Iterable[list[tuple[Any, ...]]],
    on_progress: Callable[[int], None] | None,
) -> int:
    sql = f"INSERT INTO citizens ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    return await _pipelined(batches, lambda rows: conn.exec_driver_sql(sql, rows), on_progress)


async def _load_postgres(
    conn: AsyncConnection,
    batches: Iterable[list[tuple[Any, ...]]],
    on_progress: Callable[[int], None] | None,
) -> int:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    return await _pipelined(
        batches,
        lambda rows: raw.copy_records_to_table("citizens", records=rows, columns=list(COLUMNS)),
        on_progress,
    )
