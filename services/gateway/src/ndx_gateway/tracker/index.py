"""The audit index: every audit record as published (the bytes the chain hashes), and which
subjects each touched. Built by consuming the audit topic; idempotent under redelivery."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.consumer import Delivery, PoisonRecord
from ndx_runtime.db import Database, WriteConnection

metadata = MetaData()

records = Table(
    "audit_records",
    metadata,
    Column("chain_id", String(100), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("time_us", BigInteger, nullable=False),
    Column("record", LargeBinary, nullable=False),
)

subjects = Table(
    "audit_subjects",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("subject_id", String(64), primary_key=True),
    Column("chain_id", String(100), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("time_us", BigInteger, nullable=False),
    Index("audit_subjects_by_time", "kind", "subject_id", "time_us"),
)


@dataclass(frozen=True)
class After:
    """Where a page ends: accesses are listed newest first."""

    time_us: int
    chain_id: str
    sequence: int


def rows_of(batch: list[Delivery]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The index rows of a batch of audit records; PoisonRecord for one that is not one."""
    record_rows: list[dict[str, object]] = []
    subject_rows: list[dict[str, object]] = []
    for delivery in batch:
        if not delivery.value:
            raise PoisonRecord("empty audit record")
        try:
            record = audit_pb2.AuditRecord.FromString(delivery.value)
        except DecodeError as e:
            raise PoisonRecord(f"not an AuditRecord: {e}") from None
        if not record.chain_id:
            raise PoisonRecord("audit record without a chain id")
        time_us = record.time.ToMicroseconds()
        key = {"chain_id": record.chain_id, "sequence": record.sequence}
        record_rows.append({**key, "time_us": time_us, "record": delivery.value})
        seen: set[tuple[str, str]] = set()
        for s in record.subjects:
            if (s.kind, s.id) not in seen and len(s.id) <= 64:
                seen.add((s.kind, s.id))
                subject_rows.append({**key, "kind": s.kind, "subject_id": s.id, "time_us": time_us})
    return record_rows, subject_rows


class AuditIndex:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def apply(self, batch: list[Delivery]) -> None:
        """Stores a batch of audit records in one transaction; records already stored (a
        redelivery) are left as they are."""
        record_rows, subject_rows = rows_of(batch)
        async with self.db.write_lock:
            conn = await self.db.connect_for_write()
            try:
                await conn.begin()
                await _insert_new(conn, records, record_rows)
                await _insert_new(conn, subjects, subject_rows)
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
            finally:
                await conn.close()

    async def accesses(
        self, kind: str, subject_id: str, after: After | None, limit: int
    ) -> list[tuple[After, bytes]]:
        """Up to `limit` records touching the subject, newest first, after `after`."""

        def query(conn: Connection) -> list[tuple[After, bytes]]:
            s, r = subjects.c, records.c
            stmt = (
                select(s.time_us, s.chain_id, s.sequence, r.record)
                .join(records, and_(r.chain_id == s.chain_id, r.sequence == s.sequence))
                .where(s.kind == kind, s.subject_id == subject_id)
                .order_by(s.time_us.desc(), s.chain_id.desc(), s.sequence.desc())
                .limit(limit)
            )
            if after is not None:
                stmt = stmt.where(
                    or_(
                        s.time_us < after.time_us,
                        and_(
                            s.time_us == after.time_us,
                            tuple_(s.chain_id, s.sequence) < (after.chain_id, after.sequence),
                        ),
                    )
                )
            return [(After(t, c, q), bytes(data)) for t, c, q, data in conn.execute(stmt)]

        return await self.db.read(query)

    def stored(self, conn: Connection, batch: int = 5000) -> Iterator[bytes]:
        """Every stored record, each chain in sequence order (for `ndx audit verify`)."""
        last: tuple[str, int] | None = None
        while True:
            stmt = select(records.c.chain_id, records.c.sequence, records.c.record)
            if last is not None:
                stmt = stmt.where(tuple_(records.c.chain_id, records.c.sequence) > last)
            rows = conn.execute(
                stmt.order_by(records.c.chain_id, records.c.sequence).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield bytes(row[2])
            last = (rows[-1][0], rows[-1][1])


async def _insert_new(conn: WriteConnection, table: Table, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        await conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
