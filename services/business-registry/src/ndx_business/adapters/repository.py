"""Enterprises in storage: the write-side repository and the read queries."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import RowMapping

from ndx_runtime.repository import AggregateQueries, AggregateRepository, Children

from ..domain.model import Enterprise
from .rows import child_rows, enterprise_to_row, row_to_enterprise
from .tables import branches, business_lines, enterprises, members, representatives


class EnterpriseQueries(AggregateQueries[Enterprise]):
    table = enterprises
    key = "enterprise_code"
    children = (representatives, members, business_lines, branches)

    def from_row(self, row: RowMapping, children: Children) -> Enterprise:
        return row_to_enterprise(row, children)

    def by_representative(self, citizen_id: str, after: str, limit: int) -> list[Enterprise]:
        where = representatives.c.citizen_id == citizen_id
        keys = [k for k in self.keys_where(representatives, where) if k > after][:limit]
        return self.load(keys)

    def by_ward(self, ward_code: str, after: str, limit: int) -> list[Enterprise]:
        return self.page(enterprises.c.head_office_ward == ward_code, after, limit)

    def by_status(self, status: int, after: str, limit: int) -> list[Enterprise]:
        return self.page(enterprises.c.legal_status == status, after, limit)


class EnterpriseRepository(AggregateRepository[Enterprise]):
    kind = "enterprise"
    queries = EnterpriseQueries
    child_fields: ClassVar[dict[str, str]] = {"representatives": "legal_representatives"}

    def to_row(self, entity: Enterprise) -> dict[str, Any]:
        return enterprise_to_row(entity)

    def child_rows(self, entity: Enterprise) -> dict[str, list[dict[str, Any]]]:
        return child_rows(entity)

    async def for_representative(self, citizen_id: str) -> list[Enterprise]:
        """Every enterprise the citizen legally represents, loaded for change."""
        return await self.having(representatives, representatives.c.citizen_id == citizen_id)
