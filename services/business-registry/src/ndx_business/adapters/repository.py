"""Enterprises in storage: the write-side repository and the read queries."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import RowMapping

from ndx_runtime.repository import AggregateQueries, AggregateRepository, Children

from ..domain.model import Enterprise
from .rows import enterprise_to_row, representative_rows, row_to_enterprise
from .tables import enterprises, representatives


class EnterpriseQueries(AggregateQueries[Enterprise]):
    table = enterprises
    key = "enterprise_code"
    children = (representatives,)

    def from_row(self, row: RowMapping, children: Children) -> Enterprise:
        return row_to_enterprise(row, children.get(representatives.name, ()))


class EnterpriseRepository(AggregateRepository[Enterprise]):
    kind = "enterprise"
    queries = EnterpriseQueries
    child_fields: ClassVar[dict[str, str]] = {"representatives": "legal_representatives"}

    def to_row(self, entity: Enterprise) -> dict[str, Any]:
        return enterprise_to_row(entity)

    def child_rows(self, entity: Enterprise) -> dict[str, list[dict[str, Any]]]:
        return {representatives.name: representative_rows(entity)}

    async def for_representative(self, citizen_id: str) -> list[Enterprise]:
        """Every enterprise the citizen legally represents, loaded for change."""
        return await self.having(representatives, representatives.c.citizen_id == citizen_id)
