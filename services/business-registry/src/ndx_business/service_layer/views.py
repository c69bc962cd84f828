"""Read use cases: lookups and verification. No locks and no events."""

from __future__ import annotations

from sqlalchemy import Connection

from ndx_runtime.db import Database
from ndx_runtime.errors import NotFound

from ..adapters.repository import EnterpriseQueries
from ..domain.model import Enterprise


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
