"""The land unit of work: parcels and their change events, committed together."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from ndx_runtime.aggregate import Change
from ndx_runtime.uow import RegistryUnitOfWork

from ..adapters.proto_mapping import change_to_proto
from ..adapters.repository import ParcelRepository
from ..config import SOURCE, TOPIC


class LandUnitOfWork(RegistryUnitOfWork):
    parcels: ParcelRepository
    topic = TOPIC
    source = SOURCE
    stores = (("parcels", ParcelRepository),)

    def event(self, change: Change[Any]) -> Message:
        return change_to_proto(change)
