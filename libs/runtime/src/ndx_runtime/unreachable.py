"""Telling an outage from a bug: errors that mean the database cannot be reached now (a retry
later may succeed), as opposed to a statement, a schema or a rule that is wrong."""

from __future__ import annotations

import socket

from sqlalchemy import exc

# SQLSTATEs of a server that is away: class 08 (connection exception), 57P01-57P03 (shut down
# by an administrator, crashed, starting up or shutting down), 53300 (too many connections).
_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error that caused it, says the database cannot be reached: a
    connection refused or dropped, a server shutting down or starting up, a pool with no
    connection to give in time."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        e = pending.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if _says_unreachable(e):
            return True
        pending.extend((e.__cause__, e.__context__, getattr(e, "orig", None)))
    return False


def _says_unreachable(e: BaseException) -> bool:
    if isinstance(e, exc.DBAPIError) and e.connection_invalidated:
        return True  # SQLAlchemy recognised a lost connection
    if isinstance(e, exc.TimeoutError | exc.DisconnectionError):
        return True  # the pool had no connection to give within its timeout
    # Connecting: refused, reset, no route, unknown host. A plain OSError is what asyncio
    # raises when every address of a host failed; its subclasses about files are not outages.
    if isinstance(e, ConnectionError | socket.gaierror) or type(e) is OSError:
        return True
    sqlstate = getattr(e, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_SQLSTATES)
