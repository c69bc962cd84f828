"""The inbox: the last version of each foreign entity a service has applied.

A consumer skips an event whose version is at or below the stored one, so redelivery and
replays change nothing. The entry is written in the same transaction as the changes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("source", String(100), primary_key=True),  # e.g. "ndx.population.citizen"
        Column("entity_id", String(64), primary_key=True),
        Column("version", BigInteger, nullable=False),
    )


def applied_version(conn: Connection, inbox: Table, source: str, entity_id: str) -> int:
    """The last applied version (0 when none), on a synchronous connection (Database.read)."""
    row = conn.execute(
        select(inbox.c.version).where(inbox.c.source == source, inbox.c.entity_id == entity_id)
    ).first()
    return int(row[0]) if row else 0


async def record_applied(
    conn: AsyncConnection, inbox: Table, source: str, entity_id: str, version: int
) -> None:
    """Stores `version` as applied (inside the caller's transaction)."""
    result = await conn.execute(
        update(inbox)
        .where(inbox.c.source == source, inbox.c.entity_id == entity_id)
        .values(version=version)
    )
    if result.rowcount == 0:
        await conn.execute(
            inbox.insert().values(source=source, entity_id=entity_id, version=version)
        )
