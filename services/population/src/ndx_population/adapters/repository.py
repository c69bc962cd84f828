"""The citizens repository (write side) and read queries, on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ndx_runtime.errors import AlreadyExists, StaleVersion

from ..domain.model import Citizen, Op, normalise_name
from .rows import citizen_to_row, row_to_citizen
from .tables import citizens


class CitizenRepository:
    """Loads citizens for change and writes back those that changed, version-checked."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._loaded: dict[str, int] = {}
        self.seen: list[Citizen] = []

    async def get(self, citizen_id: str) -> Citizen | None:
        query = select(citizens).where(citizens.c.citizen_id == citizen_id)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return None
        citizen = row_to_citizen(row)
        self._loaded[citizen_id] = citizen.version
        self.seen.append(citizen)
        return citizen

    def add(self, citizen: Citizen) -> None:
        self.seen.append(citizen)

    async def flush(self) -> None:
        """Writes every seen citizen that has pending changes."""
        for citizen in self.seen:
            if not citizen.events:
                continue
            if citizen.events[0].op == Op.CREATE:
                await self._insert(citizen)
            else:
                await self._update(citizen)

    async def _insert(self, citizen: Citizen) -> None:
        exists = await self._conn.execute(
            select(citizens.c.citizen_id).where(citizens.c.citizen_id == citizen.citizen_id)
        )
        if exists.first() is not None:
            raise AlreadyExists("citizen", citizen.citizen_id)
        await self._conn.execute(insert(citizens).values(citizen_to_row(citizen)))

    async def _update(self, citizen: Citizen) -> None:
        loaded = self._loaded[citizen.citizen_id]
        row = citizen_to_row(citizen)
        del row["citizen_id"]
        result = await self._conn.execute(
            update(citizens)
            .where(citizens.c.citizen_id == citizen.citizen_id, citizens.c.version == loaded)
            .values(row)
        )
        if result.rowcount != 1:
            # Another writer got in between our read and our write.
            raise StaleVersion(citizen.citizen_id, loaded, -1)


class CitizenQueries:
    """Read-only lookups on a synchronous connection (see Database.read); no locks, no events."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, citizen_id: str) -> Citizen | None:
        query = select(citizens).where(citizens.c.citizen_id == citizen_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else row_to_citizen(row)

    def get_many(self, citizen_ids: Sequence[str]) -> dict[str, Citizen]:
        found: dict[str, Citizen] = {}
        unique = list(dict.fromkeys(citizen_ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = self._conn.execute(select(citizens).where(citizens.c.citizen_id.in_(chunk)))
            for row in rows.mappings():
                found[row["citizen_id"]] = row_to_citizen(row)
        return found

    def by_ward(self, ward_code: str, after: str, limit: int) -> list[Citizen]:
        return self._page(citizens.c.permanent_address_ward == ward_code, after, limit)

    def by_household(self, household_id: str, after: str, limit: int) -> list[Citizen]:
        return self._page(citizens.c.household_id == household_id, after, limit)

    def by_name_and_birth(
        self, full_name: str, born: date, after: str, limit: int
    ) -> list[Citizen]:
        where = (citizens.c.full_name_key == normalise_name(full_name)) & (
            citizens.c.date_of_birth == born
        )
        return self._page(where, after, limit)

    def _page(self, where: ColumnElement[bool], after: str, limit: int) -> list[Citizen]:
        query = (
            select(citizens)
            .where(where, citizens.c.citizen_id > after)
            .order_by(citizens.c.citizen_id)
            .limit(limit)
        )
        return [row_to_citizen(r) for r in self._conn.execute(query).mappings()]
