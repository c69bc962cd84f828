"""The population unit of work: citizens and their change events, committed together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ndx_runtime.envelope import change_event
from ndx_runtime.uow import SqlUnitOfWork

from ..adapters.proto_mapping import change_to_proto
from ..adapters.repository import CitizenRepository
from ..config import SOURCE, TOPIC


class PopulationUnitOfWork(SqlUnitOfWork):
    citizens: CitizenRepository
    topic: str = TOPIC

    def _open(self, connection: AsyncConnection) -> None:
        self.citizens = CitizenRepository(connection)

    async def commit(self) -> None:
        await self.citizens.flush()
        for citizen in self.citizens.seen:
            for change in citizen.events:
                self.publish(
                    change_event(
                        self.topic,
                        change_to_proto(change),
                        key=change.citizen_id,
                        source=SOURCE,
                        time=citizen.updated_at,
                    )
                )
            citizen.events.clear()
        await super().commit()
