"""State digests: independent of row order and database kind, sensitive to every value."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table

from ndx_runtime.db import Database, create_schema
from ndx_runtime.digest import state_digest
from ndx_runtime.outbox import outbox_table

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("born", Date),
    Column("alive", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
outbox = outbox_table(metadata)

ROWS: list[dict[str, Any]] = [
    {
        "id": i,
        "name": f"Nguyễn Văn {i}",
        "born": date(1990, 1, 1 + i % 28) if i % 3 else None,
        "alive": i % 5 != 0,
        "updated_at": datetime(2026, 1, 2, 3, 4, 5, i, tzinfo=UTC),
    }
    for i in range(1, 200)
]


async def digest_of(url: str, rows: list[dict[str, Any]], outbox_rows: int = 0) -> str:
    db = Database.from_url(url)
    try:
        await create_schema(db.engine, metadata)
        async with db.engine.begin() as conn:
            await conn.execute(people.insert(), rows)
            for i in range(outbox_rows):
                await conn.execute(
                    outbox.insert().values(
                        topic="t",
                        key=b"k",
                        value=bytes([i]),
                        headers="[]",
                        created_at=datetime.now(UTC),
                    )
                )
        result = await state_digest(db, metadata)
        assert [t.name for t in result.tables] == ["people"]
        assert result.rows == len(rows)
        return result.digest
    finally:
        await db.dispose()


def sqlite(tmp_path: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}.db"


async def test_row_order_and_outbox_do_not_change_the_digest(tmp_path: Path) -> None:
    forward = await digest_of(sqlite(tmp_path, "a"), ROWS)
    backward = await digest_of(sqlite(tmp_path, "b"), ROWS[::-1], outbox_rows=3)
    assert forward == backward


async def test_any_changed_value_changes_the_digest(tmp_path: Path) -> None:
    original = await digest_of(sqlite(tmp_path, "a"), ROWS)
    for n, change in enumerate(
        [
            {"name": "Nguyễn Văn 1 "},
            {"born": None},
            {"alive": False},
            {"updated_at": datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)},
        ]
    ):
        changed = [{**ROWS[0], **change}, *ROWS[1:]]
        assert await digest_of(sqlite(tmp_path, f"c{n}"), changed) != original, change
    assert await digest_of(sqlite(tmp_path, "fewer"), ROWS[1:]) != original


async def test_sqlite_and_postgresql_agree(tmp_path: Path, postgres_server: Any) -> None:
    postgres = str(postgres_server.create_database(f"t_digest_{uuid.uuid4().hex[:12]}"))
    assert await digest_of(sqlite(tmp_path, "a"), ROWS) == await digest_of(postgres, ROWS)
