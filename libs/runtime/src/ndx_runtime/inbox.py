"""The inbox: the last version of each foreign entity a service has applied.

A consumer skips an event whose version is at or below the stored one, so redelivery and
replays change nothing. The entry is written in the same transaction as the changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, Column, MetaData, String, Table, bindparam, select, update
from sqlalchemy.engine import Connection


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("source", String(100), primary_key=True),  # e.g. "ndx.population.citizen"
        Column("entity_id", String(64), primary_key=True),
        Column("version", BigInteger, nullable=False),
    )


def applied_versions(
    conn: Connection, inbox: Table, source: str, entity_ids: Iterable[str]
) -> dict[str, int]:
    """The last applied version of each entity that has one, on a synchronous connection."""
    found: dict[str, int] = {}
    ids = sorted(set(entity_ids))
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(inbox.c.entity_id, inbox.c.version).where(
                inbox.c.source == source, inbox.c.entity_id.in_(ids[start : start + 500])
            )
        )
        found.update({r[0]: int(r[1]) for r in rows})
    return found


def record_applied(conn: Connection, inbox: Table, source: str, versions: dict[str, int]) -> None:
    """Stores each entity's version as applied (inside the caller's transaction)."""
    if not versions:
        return
    known = applied_versions(conn, inbox, source, versions)
    if known:
        conn.execute(
            update(inbox)
            .where(inbox.c.source == source, inbox.c.entity_id == bindparam("b_entity_id"))
            .values(version=bindparam("b_version")),
            [{"b_entity_id": k, "b_version": versions[k]} for k in known],
        )
    fresh = [
        {"source": source, "entity_id": k, "version": v}
        for k, v in versions.items()
        if k not in known
    ]
    if fresh:
        conn.execute(inbox.insert(), fresh)
