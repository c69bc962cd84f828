"""Which database errors are outages (UNAVAILABLE to callers) and which are not."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import exc, text

from ndx_runtime.db import create_engine
from ndx_runtime.unreachable import database_unreachable


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once the socket is closed


async def error_of(url: str, sql: str) -> BaseException:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    except Exception as error:
        return error
    finally:
        await engine.dispose()
    raise AssertionError("no error")


async def test_a_refused_connection_is_an_outage() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nothing"
    assert database_unreachable(await error_of(url, "select 1"))


async def test_a_wrong_statement_is_not(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    error = await error_of(url, "select * from no_such_table")
    assert isinstance(error, exc.OperationalError)
    assert not database_unreachable(error)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.AdminShutdownError("terminating connection"), True),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.TooManyConnectionsError("too many clients"), True),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (exc.TimeoutError("QueuePool limit reached"), True),
        (exc.DBAPIError("select 1", None, Exception("closed"), connection_invalidated=True), True),
        (exc.DBAPIError("select 1", None, Exception("bad"), connection_invalidated=False), False),
        (FileNotFoundError("no such file"), False),
        (ValueError("a bug"), False),
    ],
)
def test_classified(error: BaseException, outage: bool) -> None:
    assert database_unreachable(error) is outage


def test_the_cause_counts() -> None:
    error = RuntimeError("while committing")
    error.__cause__ = ConnectionResetError("reset by peer")
    assert database_unreachable(error)
