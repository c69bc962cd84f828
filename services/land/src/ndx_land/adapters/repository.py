"""Parcels in storage: the write-side repository and the read queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping

from ndx_runtime.repository import AggregateQueries, AggregateRepository, Children

from ..domain.model import Parcel
from .rows import child_rows, parcel_to_row, row_to_parcel
from .tables import holders, land_uses, mortgages, parcels


class ParcelQueries(AggregateQueries[Parcel]):
    table = parcels
    key = "parcel_id"
    children = (land_uses, holders, mortgages)

    def from_row(self, row: RowMapping, children: Children) -> Parcel:
        return row_to_parcel(row, children)

    def by_ward(self, ward_code: str, after: str, limit: int) -> list[Parcel]:
        return self.page(parcels.c.ward_code == ward_code, after, limit)

    def by_holder(self, citizen_id: str, after: str, limit: int) -> list[Parcel]:
        held = holders.c.citizen_id == citizen_id
        keys = [k for k in self.keys_where(holders, held) if k > after][:limit]
        return self.load(keys)


class ParcelRepository(AggregateRepository[Parcel]):
    kind = "parcel"
    queries = ParcelQueries

    def to_row(self, entity: Parcel) -> dict[str, Any]:
        return parcel_to_row(entity)

    def child_rows(self, entity: Parcel) -> dict[str, list[dict[str, Any]]]:
        return child_rows(entity)

    async def held_by(self, citizen_id: str) -> list[Parcel]:
        """Every parcel on which the citizen holds a right, loaded for change."""
        return await self.having(holders, holders.c.citizen_id == citizen_id)
