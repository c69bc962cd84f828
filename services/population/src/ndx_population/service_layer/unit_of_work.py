"""The population unit of work: citizens and their change events, committed together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncConnection

from ndx_runtime.aggregate import Change
from ndx_runtime.repository import AggregateRepository
from ndx_runtime.uow import RegistryUnitOfWork

from ..adapters.proto_mapping import change_to_proto
from ..adapters.repository import CitizenRepository
from ..config import SOURCE, TOPIC


class PopulationUnitOfWork(RegistryUnitOfWork):
    citizens: CitizenRepository
    topic = TOPIC
    source = SOURCE

    def _open(self, connection: AsyncConnection) -> None:
        self.citizens = CitizenRepository(connection)

    def repositories(self) -> Sequence[AggregateRepository[Any]]:
        return [self.citizens]

    def event(self, change: Change[Any]) -> Message:
        return change_to_proto(change)
