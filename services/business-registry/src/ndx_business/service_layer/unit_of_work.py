"""The business unit of work: enterprises and their change events, committed together."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from ndx_runtime.aggregate import Change
from ndx_runtime.uow import RegistryUnitOfWork

from ..adapters.proto_mapping import change_to_proto
from ..adapters.repository import EnterpriseRepository
from ..config import SOURCE, TOPIC


class BusinessUnitOfWork(RegistryUnitOfWork):
    enterprises: EnterpriseRepository
    topic = TOPIC
    source = SOURCE
    stores = (("enterprises", EnterpriseRepository),)

    def event(self, change: Change[Any]) -> Message:
        return change_to_proto(change)
