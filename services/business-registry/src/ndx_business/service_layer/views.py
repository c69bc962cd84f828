"""Read use cases: lookups, lists and verification. No locks and no events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from ndx_runtime.db import Database
from ndx_runtime.errors import NotFound

from ..adapters.repository import EnterpriseQueries
from ..domain.model import Enterprise


@dataclass(frozen=True, slots=True)
class EnterpriseFilter:
    """Exactly one of: a legal representative, a head-office ward, a legal status."""

    representative_citizen_id: str = ""
    ward_code: str = ""
    legal_status: int = 0


class BusinessViews:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, enterprise_code: str) -> Enterprise | None:
        def query(conn: Connection) -> Enterprise | None:
            return EnterpriseQueries(conn).get(enterprise_code)

        return await self._db.read(query)

    async def get(self, enterprise_code: str) -> Enterprise:
        enterprise = await self.find(enterprise_code)
        if enterprise is None:
            raise NotFound("enterprise", enterprise_code)
        return enterprise

    async def batch_get(self, codes: Sequence[str]) -> tuple[list[Enterprise], list[str]]:
        """Found enterprises in request order, and the codes not on file."""
        found = await self._db.read(lambda conn: EnterpriseQueries(conn).get_many(codes))
        unique = list(dict.fromkeys(codes))
        return [found[c] for c in unique if c in found], [c for c in unique if c not in found]

    async def list(self, f: EnterpriseFilter, after: str, limit: int) -> list[Enterprise]:
        def query(conn: Connection) -> list[Enterprise]:
            q = EnterpriseQueries(conn)
            if f.representative_citizen_id:
                return q.by_representative(f.representative_citizen_id, after, limit)
            if f.ward_code:
                return q.by_ward(f.ward_code, after, limit)
            return q.by_status(f.legal_status, after, limit)

        return await self._db.read(query)
