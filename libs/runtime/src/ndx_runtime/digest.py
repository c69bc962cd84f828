"""A service's state as one digest, so two environments can be compared: equal data gives an
equal digest whatever the row order, the database kind (SQLite or PostgreSQL) or the
database's own bookkeeping.

Each row is encoded canonically (columns by name; times in UTC, dates in ISO form) and hashed;
a table's digest is the sum of its row hashes modulo 2**256, which does not depend on the
order rows are read in and needs no sorting, so a table of millions of rows streams through
in constant memory. The outbox is left out: it is the way out to Kafka, not state, and its
rows carry event ids and times of their own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import Connection

from .db import Database

MODULUS = 1 << 256
NOT_STATE = frozenset({"outbox"})
_BATCH = 5_000


@dataclass(frozen=True)
class TableDigest:
    name: str
    rows: int
    digest: str  # 64 hex digits


@dataclass(frozen=True)
class StateDigest:
    tables: tuple[TableDigest, ...]

    @property
    def digest(self) -> str:
        """The digest of the whole state: of every table's name, row count and digest."""
        whole = hashlib.sha256()
        for t in sorted(self.tables, key=lambda t: t.name):
            whole.update(f"{t.name}:{t.rows}:{t.digest}\n".encode())
        return whole.hexdigest()

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


async def state_digest(
    db: Database, metadata: MetaData, *, exclude: Collection[str] = NOT_STATE
) -> StateDigest:
    """The digest of every table of `metadata` except `exclude`, read in one transaction."""
    tables = [t for name, t in sorted(metadata.tables.items()) if name not in exclude]

    def read(conn: Connection) -> tuple[TableDigest, ...]:
        return tuple(_table_digest(conn, t) for t in tables)

    return StateDigest(await db.read(read))


def _table_digest(conn: Connection, table: Table) -> TableDigest:
    names = sorted(c.name for c in table.columns)
    query = select(*(table.c[n] for n in names))
    result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
    total, count = 0, 0
    for row in result:
        total = (total + row_hash(names, row)) % MODULUS
        count += 1
    return TableDigest(table.name, count, format(total, "064x"))


def row_hash(names: list[str], values: Iterable[Any]) -> int:
    """The SHA-256 of one row's canonical encoding, as an integer."""
    encoded = json.dumps(
        [[n, _canonical(v)] for n, v in zip(names, values, strict=True)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return int.from_bytes(hashlib.sha256(encoded.encode()).digest(), "big")


def _canonical(value: Any) -> Any:
    """A value as JSON the same way on every database driver."""
    if isinstance(value, datetime):
        # SQLite hands back naive datetimes for UTC-stored values; PostgreSQL aware ones.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value
