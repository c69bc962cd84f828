"""Read use cases: lookups, lists and verification. No locks and no events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from ndx_runtime.db import Database
from ndx_runtime.errors import NotFound

from ..adapters.repository import ParcelQueries
from ..domain.model import Parcel


class LandViews:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, parcel_id: str) -> Parcel | None:
        return await self._db.read(lambda conn: ParcelQueries(conn).get(parcel_id))

    async def get(self, parcel_id: str) -> Parcel:
        parcel = await self.find(parcel_id)
        if parcel is None:
            raise NotFound("parcel", parcel_id)
        return parcel

    async def batch_get(self, parcel_ids: Sequence[str]) -> tuple[list[Parcel], list[str]]:
        """Found parcels in request order, and the ids not on file."""
        found = await self._db.read(lambda conn: ParcelQueries(conn).get_many(parcel_ids))
        unique = list(dict.fromkeys(parcel_ids))
        return [found[i] for i in unique if i in found], [i for i in unique if i not in found]

    async def list(self, ward_code: str, holder: str, after: str, limit: int) -> list[Parcel]:
        def query(conn: Connection) -> list[Parcel]:
            q = ParcelQueries(conn)
            if ward_code:
                return q.by_ward(ward_code, after, limit)
            return q.by_holder(holder, after, limit)

        return await self._db.read(query)
