"""Citizens in storage: the write-side repository and the read queries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import RowMapping

from ndx_runtime.repository import AggregateQueries, AggregateRepository, Children

from ..domain.model import Citizen, normalise_name
from .rows import citizen_to_row, row_to_citizen
from .tables import citizens


class CitizenQueries(AggregateQueries[Citizen]):
    table = citizens
    key = "citizen_id"

    def from_row(self, row: RowMapping, children: Children) -> Citizen:
        return row_to_citizen(row)

    def by_ward(self, ward_code: str, after: str, limit: int) -> list[Citizen]:
        return self.page(citizens.c.permanent_address_ward == ward_code, after, limit)

    def by_household(self, household_id: str, after: str, limit: int) -> list[Citizen]:
        return self.page(citizens.c.household_id == household_id, after, limit)

    def by_name_and_birth(
        self, full_name: str, born: date, after: str, limit: int
    ) -> list[Citizen]:
        where = (citizens.c.full_name_key == normalise_name(full_name)) & (
            citizens.c.date_of_birth == born
        )
        return self.page(where, after, limit)


class CitizenRepository(AggregateRepository[Citizen]):
    kind = "citizen"
    queries = CitizenQueries

    def to_row(self, entity: Citizen) -> dict[str, Any]:
        return citizen_to_row(entity)
