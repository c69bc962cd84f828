"""Database engines: SQLite (default) and PostgreSQL through one SQLAlchemy async code path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Dialect, Engine, Executable, MetaData, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite the file's folder is created and WAL mode turned on."""
    # Statement parameters (citizens' ids, names) stay out of error messages, hence logs.
    kwargs.setdefault("hide_parameters", True)
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


# Reads map the file rather than copy each page through read(): a batch lookup touches pages
# all over a large table (1,000 random citizens out of 100,000: 5.5 ms -> 2.5 ms). The size is
# a ceiling on the mapping, not memory taken.
_READ_MMAP_BYTES = 1 << 30


def _sqlite_read_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA mmap_size={_READ_MMAP_BYTES}")
    cursor.close()


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Creates missing tables and indexes (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


class WriteConnection(Protocol):
    """What units of work and repositories use of a connection: an `AsyncConnection`
    (PostgreSQL) or a `ThreadedConnection` (SQLite)."""

    @property
    def dialect(self) -> Dialect: ...
    async def execute(self, statement: Executable, parameters: Any = None) -> Any: ...
    async def run_sync(self, fn: Callable[[Connection], T]) -> T: ...
    def begin(self) -> Awaitable[Any]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    def in_transaction(self) -> bool: ...


class _RowCount:
    """The outcome of a statement that returns no rows."""

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class ThreadedConnection:
    """A plain SQLite connection driven from asyncio on the database's one writer thread:
    one thread hop a statement, where aiosqlite takes several. Results come back buffered."""

    def __init__(self, conn: Connection, thread: ThreadPoolExecutor) -> None:
        self._sync = conn
        self._thread = thread

    @property
    def dialect(self) -> Dialect:
        return self._sync.dialect

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        def run() -> Any:
            result = self._sync.execute(statement, parameters)
            if result.returns_rows:
                return result.freeze()()
            return _RowCount(result.rowcount)

        return await self._call(run)

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        return await self._call(fn, self._sync)

    async def begin(self) -> None:
        await self._call(self._sync.begin)

    async def commit(self) -> None:
        await self._call(self._sync.commit)

    async def rollback(self) -> None:
        await self._call(self._sync.rollback)

    async def close(self) -> None:
        await self._call(self._sync.close)

    def in_transaction(self) -> bool:
        return self._sync.in_transaction()


class Database:
    """An engine plus the write discipline its backend needs, and a fast read path."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # aiosqlite hops to its thread for every step of a query (about ten for one lookup);
        # reads instead run whole on a plain SQLite engine in a worker thread: one hop.
        self._sync_reader: Engine | None = None
        # Writes likewise run on plain SQLite, on one thread of their own.
        self._sync_writer: Engine | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        if is_sqlite(engine):
            self._sync_reader = sa_create_engine(engine.url.set(drivername="sqlite"))
            event.listen(self._sync_reader, "connect", _sqlite_pragmas)
            event.listen(self._sync_reader, "connect", _sqlite_read_pragmas)
            self._sync_writer = sa_create_engine(engine.url.set(drivername="sqlite"))
            event.listen(self._sync_writer, "connect", _sqlite_pragmas)
            self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        # SQLite has one writer at a time and cannot upgrade two readers to writers without a
        # deadlock error; serialising this process's write transactions avoids both.
        self.write_lock: asyncio.Lock | contextlib.AbstractAsyncContextManager[None] = (
            asyncio.Lock() if is_sqlite(engine) else contextlib.nullcontext()
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs))

    async def connect_for_write(self) -> WriteConnection:
        """A connection for one write transaction (the caller holds `write_lock`)."""
        if self._sync_writer is not None and self._writer_thread is not None:
            loop = asyncio.get_running_loop()
            conn = await loop.run_in_executor(self._writer_thread, self._sync_writer.connect)
            return ThreadedConnection(conn, self._writer_thread)
        return await self.engine.connect()

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
        if self._sync_writer is not None and self._writer_thread is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._writer_thread, self._sync_writer.dispose)
            self._writer_thread.shutdown(wait=False)

    async def ping(self) -> None:
        """Raises if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
