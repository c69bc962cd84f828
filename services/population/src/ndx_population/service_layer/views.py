"""Read use cases: lookups, lists and verification. No locks and no events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ndx_runtime.db import Database
from ndx_runtime.errors import NotFound

from ..adapters.claim_queries import stored_values
from ..adapters.repository import CitizenQueries
from ..domain.model import Citizen
from ..domain.values import HouseholdRelationship
from ..domain.verification import ClaimBatch, Outcome, verify_batch


@dataclass(frozen=True, slots=True)
class CitizenFilter:
    """Exactly one of: a ward, a household, or a full name with a date of birth."""

    ward_code: str = ""
    household_id: str = ""
    full_name: str = ""
    date_of_birth: date | None = None


class PopulationViews:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, citizen_id: str) -> Citizen:
        citizen = await self._db.read(lambda conn: CitizenQueries(conn).get(citizen_id))
        if citizen is None:
            raise NotFound("citizen", citizen_id)
        return citizen

    async def batch_get(self, citizen_ids: Sequence[str]) -> tuple[list[Citizen], list[str]]:
        """Found citizens in request order, and the ids not on file."""
        found = await self._db.read(lambda conn: CitizenQueries(conn).get_many(citizen_ids))
        ordered = [found[i] for i in dict.fromkeys(citizen_ids) if i in found]
        missing = [i for i in dict.fromkeys(citizen_ids) if i not in found]
        return ordered, missing

    async def find(self, f: CitizenFilter, after: str, limit: int) -> list[Citizen]:

        def query(conn: Connection) -> list[Citizen]:
            q = CitizenQueries(conn)
            if f.ward_code:
                return q.by_ward(f.ward_code, after, limit)
            if f.household_id:
                return q.by_household(f.household_id, after, limit)
            assert f.date_of_birth is not None
            return q.by_name_and_birth(f.full_name, f.date_of_birth, after, limit)

        return await self._db.read(query)

    async def household(self, household_id: str) -> list[Citizen]:
        """Members, the head first, then by relationship and age."""
        members = await self._db.read(
            lambda conn: CitizenQueries(conn).by_household(household_id, "", 10_000)
        )
        if not members:
            raise NotFound("household", household_id)
        head = HouseholdRelationship.HEAD
        return sorted(
            members,
            key=lambda c: (c.relationship_to_head != head, c.relationship_to_head, c.date_of_birth),
        )

    async def verify(self, batch: ClaimBatch) -> list[Outcome]:
        """The outcome of each claim, in order; one read for the batch."""
        wanted = [(group.paths, group.citizen_ids) for group in batch.groups]
        whole = [batch.citizen_ids[i] for i in batch.whole]

        def query(conn: Connection) -> tuple[Any, Any, dict[str, Citizen]]:
            stored, read = stored_values(conn, wanted)
            # Claims about nested paths (rare) compare whole citizens.
            citizens = CitizenQueries(conn).get_many(whole) if whole else {}
            return stored, read, citizens

        stored, read, citizens = await self._db.read(query)
        return verify_batch(batch, stored, read, citizens)
