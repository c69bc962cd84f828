"""The population unit of work: citizens and their change events, committed together."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from ndx_runtime.aggregate import Change
from ndx_runtime.uow import RegistryUnitOfWork

from ..adapters.proto_mapping import change_to_proto
from ..adapters.repository import CitizenRepository
from ..config import SOURCE, TOPIC


class PopulationUnitOfWork(RegistryUnitOfWork):
    citizens: CitizenRepository
    topic = TOPIC
    source = SOURCE
    stores = (("citizens", CitizenRepository),)

    def event(self, change: Change[Any]) -> Message:
        return change_to_proto(change)
