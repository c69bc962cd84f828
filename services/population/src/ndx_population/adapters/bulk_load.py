"""The initial load: many citizens at once through the driver's fastest path.

SQLite takes a prepared INSERT with executemany (in aiosqlite's thread, so the next batch is
generated meanwhile); PostgreSQL takes COPY. Secondary indexes of an empty table are built after
the load. A bulk load is the registry's starting state, not a change: it emits no events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.model import Citizen
from ..migrations import MIGRATIONS
from .rows import COLUMNS, citizen_to_tuple
from .tables import citizens

Row = tuple[Any, ...]

# For the load only: no fsync (a crash mid-load leaves a database to delete, not to repair), and
# a page cache big enough for the primary-key index, whose random inserts otherwise thrash.
# 1,000,000 rows: 17 s of inserts with the defaults, 12 s with these.
_SQLITE_LOAD_PRAGMAS = {"synchronous": "OFF", "cache_size": "-131072", "temp_store": "MEMORY"}


async def create_schema(engine: AsyncEngine) -> None:
    """Brings the registry's schema to head (its migrations)."""
    await MIGRATIONS.upgrade(engine)


def _sqlite_day(value: date | None) -> str | None:
    # The text SQLAlchemy's SQLite Date type stores and parses back.
    return value.isoformat() if value is not None else None


_moments: dict[datetime, str] = {}


def _sqlite_moment(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DateTime text: no offset, so times are stored in UTC. A seed's rows
    # share one updated_at, and formatting it is a third of the row's cost: remember a few.
    if value is None:
        return None
    text = _moments.get(value)
    if text is None:
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        if len(_moments) > 1000:
            _moments.clear()
        text = _moments[value] = utc.isoformat(sep=" ", timespec="microseconds")
    return text


def _sqlite_row(c: Citizen) -> Row:
    return citizen_to_tuple(c, _sqlite_day, _sqlite_moment)


def row_converter(dialect: str) -> Callable[[Citizen], Row]:
    """The row form the dialect's fast path takes."""
    return _sqlite_row if dialect == "sqlite" else citizen_to_tuple


def _batches(items: Iterable[Citizen], size: int) -> Iterator[list[Citizen]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


async def bulk_load(
    engine: AsyncEngine,
    citizens_: Iterable[Citizen],
    *,
    batch_size: int = 20_000,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Inserts every citizen; returns how many were written. Fails on an existing citizen_id."""
    to_row = row_converter(engine.dialect.name)
    batches = ([to_row(c) for c in batch] for batch in _batches(citizens_, batch_size))
    return await load_rows(engine, batches, on_progress=on_progress)


async def load_rows(
    engine: AsyncEngine,
    batches: Iterable[list[Row]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Inserts batches of rows already in `row_converter(dialect)` form, in one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        saved = await _sqlite_pragmas(conn, _SQLITE_LOAD_PRAGMAS) if sqlite else {}
        try:
            async with conn.begin():
                if sqlite:
                    # pysqlite opens its transaction only before DML, so the index drop below
                    # would commit on its own; an explicit one makes a failed load leave nothing.
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                first = await conn.execute(select(citizens.c.citizen_id).limit(1))
                empty = first.first() is None
                if empty:
                    # Building an index once at the end beats updating it row by row.
                    await conn.run_sync(_drop_indexes)
                if sqlite:
                    written = await _load_sqlite(conn, batches, on_progress)
                else:
                    written = await _load_postgres(conn, batches, on_progress)
                if empty:
                    await conn.run_sync(_create_indexes)
        finally:
            if saved:
                await _sqlite_pragmas(conn, saved)
        if not sqlite:
            await conn.exec_driver_sql("ANALYZE citizens")
            await conn.commit()
    return written


async def _sqlite_pragmas(conn: AsyncConnection, pragmas: dict[str, str]) -> dict[str, str]:
    """Sets connection pragmas; returns their previous values (to put back: the pool reuses it)."""
    before = {}
    for name, value in pragmas.items():
        before[name] = str((await conn.exec_driver_sql(f"PRAGMA {name}")).scalar())
        await conn.exec_driver_sql(f"PRAGMA {name}={value}")
    await conn.exec_driver_sql("PRAGMA journal_mode=WAL")  # readers keep reading during a load
    await conn.commit()
    return before


def _drop_indexes(conn: Connection) -> None:
    for index in citizens.indexes:
        index.drop(conn)


def _create_indexes(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for index in citizens.indexes:
        index.create(conn)


async def _pipelined(
    batches: Iterable[list[Row]],
    write: Callable[[list[Row]], Awaitable[Any]],
    on_progress: Callable[[int], None] | None,
) -> int:
    """Takes the next batch while the database writes the previous one."""
    written = 0
    pending: asyncio.Future[Any] | None = None
    pending_rows = 0
    try:
        for rows in batches:
            if pending is not None:
                await pending
                pending = None
                if on_progress:
                    on_progress(pending_rows)
            pending = asyncio.ensure_future(write(rows))
            pending_rows = len(rows)
            written += len(rows)
        if pending is not None:
            await pending
            pending = None
            if on_progress:
                on_progress(pending_rows)
    finally:
        if pending is not None:
            # The batches failed while a write was under way: let it end before the rollback.
            await asyncio.gather(pending, return_exceptions=True)
    return written


async def _load_sqlite(
    conn: AsyncConnection,
    batches: Iterable[list[Row]],
    on_progress: Callable[[int], None] | None,
) -> int:
    sql = f"INSERT INTO citizens ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    return await _pipelined(batches, lambda rows: conn.exec_driver_sql(sql, rows), on_progress)


async def _load_postgres(
    conn: AsyncConnection,
    batches: Iterable[list[Row]],
    on_progress: Callable[[int], None] | None,
) -> int:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    columns = list(COLUMNS)

    async def copy(rows: list[Row]) -> None:
        try:
            await raw.copy_records_to_table("citizens", records=rows, columns=columns)
        except Exception as e:
            # The raw driver's errors, translated as SQLAlchemy does (class 23: constraints).
            if str(getattr(e, "sqlstate", "")).startswith("23"):
                raise IntegrityError("COPY citizens", None, e) from e
            raise

    return await _pipelined(batches, copy, on_progress)
