"""Helpers of the feed tests: following a feed as an agency, and making changes as the
registries' owners through the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx.gateway.v1 import feed_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_runtime.contracts import load_contracts

from .conftest import Agency, System

SUBSCRIBE = "/ndx.gateway.v1.FeedService/Subscribe"
POLICE = ("police", "population-management")
GET_CITIZEN = "ndx.population.v1.PopulationService/GetCitizen"
UPDATE_CITIZEN = "ndx.population.v1.PopulationService/UpdateCitizen"
GET_ENTERPRISE = "ndx.business.v1.BusinessRegistryService/GetEnterprise"
UPDATE_ENTERPRISE = "ndx.business.v1.BusinessRegistryService/UpdateEnterprise"

Call = grpc.aio.UnaryStreamCall[feed_pb2.SubscribeRequest, feed_pb2.SubscribeResponse]


@dataclass
class Feed:
    """An open subscription: the call, the cursor of its start, and the events read so far."""

    call: Call
    start: str
    events: list[feed_pb2.FeedEvent] = field(default_factory=list)
    # Events of a message already read that were not taken yet (a message carries a batch).
    pending: list[feed_pb2.FeedEvent] = field(default_factory=list)
    # How many events each message read carried.
    sizes: list[int] = field(default_factory=list)

    async def take(self, n: int, timeout: float = 20.0) -> list[feed_pb2.FeedEvent]:
        """The next `n` events."""
        async with asyncio.timeout(timeout):
            while len(self.pending) < n:
                response = await self.call.read()
                assert response is not grpc.aio.EOF, "the feed ended"
                assert response.events, "a message without events"
                self.sizes.append(len(response.events))
                self.pending.extend(response.events)
        got, self.pending = self.pending[:n], self.pending[n:]
        self.events.extend(got)
        return got

    async def until(self, done: Any, timeout: float = 20.0) -> list[feed_pb2.FeedEvent]:
        """Reads until `done(events so far)` holds."""
        async with asyncio.timeout(timeout):
            while not done(self.events):
                await self.take(1, timeout)
        return self.events

    def cancel(self) -> None:
        self.call.cancel()


def open_call(
    agency: Agency,
    aggregate: str,
    purpose: str | None,
    *,
    cursor: str | None = None,
    start_time: Timestamp | None = None,
    officer: str | None = "officer-007",
    metadata: Sequence[tuple[str, str]] = (),
) -> Call:
    request = feed_pb2.SubscribeRequest(aggregate=aggregate, purpose=purpose or "")
    if cursor is not None:
        request.cursor = cursor
    if start_time is not None:
        request.start_time.CopyFrom(start_time)
    md = list(metadata)
    if officer is not None:
        md.append(("x-ndx-officer", officer))
    stub = agency.channel.unary_stream(
        SUBSCRIBE,
        request_serializer=feed_pb2.SubscribeRequest.SerializeToString,
        response_deserializer=feed_pb2.SubscribeResponse.FromString,
    )
    return stub(request, metadata=md)


async def follow(agency: Agency, aggregate: str, purpose: str, **kwargs: Any) -> Feed:
    """Subscribes and waits until the feed is open (its start cursor arrived)."""
    call = open_call(agency, aggregate, purpose, **kwargs)
    metadata = dict(await asyncio.wait_for(call.initial_metadata(), 20))
    if "x-ndx-cursor" not in metadata:
        # The call failed before opening: surface its status.
        await call.read()
        raise AssertionError(f"feed not opened: {await call.code()}")
    return Feed(call, str(metadata["x-ndx-cursor"]))


async def refusal(call: Call) -> grpc.aio.AioRpcError:
    """The error a feed ends with."""
    try:
        async with asyncio.timeout(20):
            while await call.read() is not grpc.aio.EOF:
                pass
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the feed ended without an error")


def change_of(event: feed_pb2.FeedEvent) -> Message:
    """The change event a FeedEvent carries, unpacked by its type."""
    from google.protobuf import message_factory

    cls = message_factory.GetMessageClass(load_contracts().FindMessageTypeByName(event.type))
    change = cls()
    assert event.change.Unpack(change)
    return change


async def update_citizen(system: System, citizen_id: str, **values: Any) -> citizen_pb2.Citizen:
    """Changes fields of a citizen as the police, through the gateway."""
    police = system.agency("police")
    current, _ = await police.call(GET_CITIZEN, {"citizen_id": citizen_id}, purpose=POLICE[1])
    request = ppb.UpdateCitizenRequest(
        citizen=citizen_pb2.Citizen(citizen_id=citizen_id, **values),
        update_mask=FieldMask(paths=sorted(values)),
        expected_version=current.version,  # type: ignore[attr-defined]
    )
    updated, _ = await police.call(UPDATE_CITIZEN, request, purpose=POLICE[1])
    assert isinstance(updated, citizen_pb2.Citizen)
    return updated


async def update_enterprise(system: System, code: str, short_name: str) -> None:
    office = system.agency("business-office")
    purpose = "business-registration"
    current, _ = await office.call(GET_ENTERPRISE, {"enterprise_code": code}, purpose=purpose)
    request = bpb.UpdateEnterpriseRequest(
        enterprise=enterprise_pb2.Enterprise(enterprise_code=code, short_name=short_name),
        update_mask=FieldMask(paths=["short_name"]),
        expected_version=current.version,  # type: ignore[attr-defined]
    )
    await office.call(UPDATE_ENTERPRISE, request, purpose=purpose)


GET_PARCEL = "ndx.land.v1.LandService/GetParcel"
RELEASE_MORTGAGE = "ndx.land.v1.LandService/ReleaseMortgage"


async def release_mortgage(system: System, parcel_id: str) -> None:
    """Releases a mortgage in force on the parcel, as the land office."""
    office, purpose = system.agency("land-office"), "land-registration"
    parcel, _ = await office.call(GET_PARCEL, {"parcel_id": parcel_id}, purpose=purpose)
    mortgage = next(m for m in parcel.mortgages if not m.HasField("release_date"))  # type: ignore[attr-defined]
    body = {
        "parcel_id": parcel_id,
        "mortgage_id": mortgage.mortgage_id,
        # The earliest valid release date: never after today.
        "release_date": mortgage.registration_date,
        "expected_version": parcel.version,  # type: ignore[attr-defined]
    }
    await office.call(RELEASE_MORTGAGE, body, purpose=purpose)
