"""Database engines: SQLite (default) and PostgreSQL through one SQLAlchemy async code path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, MetaData, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite the file's folder is created and WAL mode turned on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; busy_timeout waits for the writer's lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Creates missing tables and indexes (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


class Database:
    """An engine plus the write discipline its backend needs, and a fast read path."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # aiosqlite hops to its thread for every step of a query (about ten for one lookup);
        # reads instead run whole on a plain SQLite engine in a worker thread: one hop.
        self._sync_reader: Engine | None = None
        if is_sqlite(engine):
            self._sync_reader = sa_create_engine(engine.url.set(drivername="sqlite"))
            event.listen(self._sync_reader, "connect", _sqlite_pragmas)
        # SQLite has one writer at a time and cannot upgrade two readers to writers without a
        # deadlock error; serialising this process's write transactions avoids both.
        self.write_lock: asyncio.Lock | contextlib.AbstractAsyncContextManager[None] = (
            asyncio.Lock() if is_sqlite(engine) else contextlib.nullcontext()
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs))

    async def read(self, query: Callable[[Connection], T]) -> T:
        """Runs `query` with a synchronous connection, in one go, and returns its result."""
        if self._sync_reader is not None:
            return await asyncio.to_thread(self._read_sync, query)
        async with self.engine.connect() as conn:
            return await conn.run_sync(query)

    def _read_sync(self, query: Callable[[Connection], T]) -> T:
        assert self._sync_reader is not None
        with self._sync_reader.connect() as conn:
            return query(conn)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_reader is not None:
            self._sync_reader.dispose()

    async def ping(self) -> None:
        """Raises if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
