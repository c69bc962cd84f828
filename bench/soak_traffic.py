"""The soak's traffic: agencies' calls through the gateway in a fixed mix, sent open-loop at a
fixed rate (a call goes out when it is due, whether the ones before it answered or not), and
long-lived feeds read all along.

The mix: lookups in each registry, identity checks (one and a batch), and renames of citizens
by the police, which the land and business registries mirror and the feeds deliver. Every
agency presents its own certificate and calls under a purpose the default policy grants it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx.gateway.v1 import feed_pb2
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.land.v1 import parcel_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_cli.pacing import Pacing
from ndx_cli.scenario import OWNERS, Door
from ndx_cli.scenario.business import people_of
from ndx_cli.scenario.land import holders_of
from ndx_cli.scenario.runner import _details
from ndx_cli.scenario.starting import load_citizens, load_enterprises, load_parcels
from ndx_cli.scenario.steps import choose
from ndx_cli.scenario.targets import gateway_metadata
from ndx_population.domain.model import Citizen
from ndx_population.seed.registrar import Registrar
from ndx_runtime.contracts import load_contracts
from ndx_runtime.proto_values import date_to_proto
from ndx_runtime.tls import channel_credentials

OFFICER = "soak-officer-01"
TIMEOUT = 30.0
# Open-loop, but bounded: past this many calls without an answer, the next waits for one (and
# the run records how far behind its schedule it fell).
MAX_IN_FLIGHT = 256
BATCH_VERIFY = 10

# kind: (agency, purpose, relative weight)
KINDS: dict[str, tuple[str, str, float]] = {
    "lookup_citizen": ("tax-authority", "tax-registration", 20),
    "lookup_parcel": ("land-office", "land-registration", 10),
    "lookup_enterprise": ("tax-authority", "enterprise-tax", 10),
    "verify_citizen": ("bank-ekyc", "ekyc", 20),
    "batch_verify_citizens": ("bank-ekyc", "ekyc", 10),
    "rename_citizen": ("police", "population-management", 30),
}
METHODS = {
    "lookup_citizen": "/ndx.population.v1.PopulationService/GetCitizen",
    "lookup_parcel": "/ndx.land.v1.LandService/GetParcel",
    "lookup_enterprise": "/ndx.business.v1.BusinessRegistryService/GetEnterprise",
    "verify_citizen": "/ndx.population.v1.PopulationService/VerifyCitizen",
    "batch_verify_citizens": "/ndx.population.v1.PopulationService/BatchVerifyCitizens",
    "rename_citizen": "/ndx.population.v1.PopulationService/UpdateCitizen",
}
RESPONSES: dict[str, type[Message]] = {
    "lookup_citizen": citizen_pb2.Citizen,
    "lookup_parcel": parcel_pb2.Parcel,
    "lookup_enterprise": enterprise_pb2.Enterprise,
    "verify_citizen": ppb.VerifyCitizenResponse,
    "batch_verify_citizens": ppb.BatchVerifyCitizensResponse,
    "rename_citizen": citizen_pb2.Citizen,
}


@dataclass(frozen=True)
class FeedSpec:
    """A long-lived feed: who follows which aggregate, under which purpose."""

    agency: str
    purpose: str
    aggregate: str

    @property
    def name(self) -> str:
        return f"{self.aggregate} feed of {self.agency} ({self.purpose})"


FEEDS = (
    FeedSpec("tax-authority", "tax-registration", "citizen"),
    FeedSpec("land-office", "holder-records", "citizen"),
    FeedSpec("tax-authority", "enterprise-tax", "enterprise"),
    FeedSpec("land-office", "land-registration", "parcel"),
)
EVENT_TYPES = {
    "citizen": "ndx.population.v1.CitizenChanged",
    "parcel": "ndx.land.v1.ParcelChanged",
    "enterprise": "ndx.business.v1.EnterpriseChanged",
}


@dataclass
class Tally:
    """Calls of one kind: how many, how many failed, how long they took."""

    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # "CODE: details" -> count


@dataclass
class Delivery:
    """One event a feed delivered."""

    event_id: str
    subject: str
    version: int


class Feed:
    """An open subscription, read until cancelled."""

    def __init__(self, spec: FeedSpec, channel: grpc.aio.Channel) -> None:
        self.spec = spec
        self.channel = channel
        self.delivered: list[Delivery] = []
        self.messages = 0
        self.error: str | None = None
        self.closing = False
        self._change_cls = message_factory.GetMessageClass(
            load_contracts().FindMessageTypeByName(EVENT_TYPES[spec.aggregate])
        )
        self._task: asyncio.Task[None] | None = None

    async def open(self, timeout: float = 120.0) -> None:
        """Subscribes from now on and starts reading once the gateway sent the start cursor;
        retried while the aggregate's topic is not there yet."""
        subscribe = self.channel.unary_stream(
            "/ndx.gateway.v1.FeedService/Subscribe",
            request_serializer=feed_pb2.SubscribeRequest.SerializeToString,
            response_deserializer=feed_pb2.SubscribeResponse.FromString,
        )
        request = feed_pb2.SubscribeRequest(
            aggregate=self.spec.aggregate, purpose=self.spec.purpose
        )
        async with asyncio.timeout(timeout):
            while True:
                call = subscribe(request, metadata=(("x-ndx-officer", OFFICER),))
                opened = dict(await call.initial_metadata() or ())
                if "x-ndx-cursor" in opened:
                    break
                code = await call.code()
                if code != grpc.StatusCode.UNAVAILABLE:
                    raise RuntimeError(f"{self.spec.name} refused: {code} {await call.details()}")
                await asyncio.sleep(1)
        self._task = asyncio.create_task(self._read(call))

    async def _read(self, call: Any) -> None:
        try:
            async for response in call:
                self.messages += 1
                for event in response.events:
                    change = self._change_cls()
                    event.change.Unpack(change)
                    version = int(change.version)  # type: ignore[attr-defined]
                    self.delivered.append(Delivery(event.event_id, event.subject, version))
        except grpc.aio.AioRpcError as error:
            if not self.closing:
                self.error = f"{error.code().name}: {_details(error)}"
        except asyncio.CancelledError:
            call.cancel()
            raise
        else:
            if not self.closing:
                self.error = "the feed ended"

    async def close(self) -> None:
        self.closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Starting:
    """What the soak reads through the gateway before it starts: ids to look up and verify,
    and the citizens it renames (in the order it renames them, round and round)."""

    citizens: list[Citizen]
    parcels: list[str]
    enterprises: list[str]
    writable: list[Citizen]


async def load_starting(doors: dict[str, Door], citizens: int) -> Starting:
    """Lists the registries as their owners, through the gateway."""
    people, parcels, enterprises = await asyncio.gather(
        load_citizens(doors["police"], citizens),
        load_parcels(doors["land-office"], citizens),
        load_enterprises(doors["business-office"], max(1, citizens // 10)),
    )
    living = [c for c in people if c.date_of_death is None]
    mirrored = holders_of(parcels) | people_of(enterprises)
    # Every other rename names a parcel holder or an enterprise's representative, whose
    # records the land and business registries then change (and announce) in turn.
    named = [c for c in living if c.citizen_id in mirrored]
    others = [c for c in living if c.citizen_id not in mirrored]
    writable = [c for pair in itertools.zip_longest(named, others) for c in pair if c is not None]
    return Starting(
        people,
        [p.parcel_id for p in parcels],
        [e.enterprise_code for e in enterprises],
        writable,
    )


class Traffic:
    """Sends the mix through the gateway at `address`, each agency on its own channel."""

    def __init__(self, address: str, pki: Path, seed: int = 2025) -> None:
        self.address = address
        self.pki = pki
        self.rng = random.Random(f"soak:{seed}")
        self.registrar = Registrar(f"soak:{seed}", date.today())
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.tallies = {kind: Tally() for kind in KINDS}
        self.starting: Starting | None = None
        self.feeds: list[Feed] = []
        # Every rename the registry accepted: (citizen id, version it created).
        self.written: list[tuple[str, int]] = []
        self._turn: Iterator[int] = iter(())
        self._writing: set[str] = set()
        self._stubs: dict[str, Callable[..., Any]] = {}
        self.sent = 0
        self.max_in_flight = 0
        self.max_behind_s = 0.0

    def channel(self, agency: str, own: bool = False) -> grpc.aio.Channel:
        """The channel of `agency`'s calls, or (`own`) a new one, closed with the others."""
        key = f"{agency}#{len(self.channels)}" if own else agency
        if key not in self.channels:
            creds = channel_credentials(
                self.pki / "ca.crt", self.pki / f"{agency}.crt", self.pki / f"{agency}.key"
            )
            self.channels[key] = grpc.aio.secure_channel(self.address, creds)
        return self.channels[key]

    async def prepare(self, citizens: int) -> Starting:
        doors = {
            agency: Door(self.channel(agency), gateway_metadata(purpose, OFFICER))
            for agency, purpose in OWNERS.values()
        }
        self.starting = await load_starting(doors, citizens)
        if not (self.starting.parcels and self.starting.enterprises and self.starting.writable):
            raise RuntimeError("the registries hold too little to soak: seed more")
        self._turn = itertools.cycle(range(len(self.starting.writable)))
        for kind, (agency, _, _) in KINDS.items():
            self._stubs[kind] = self.channel(agency).unary_unary(
                METHODS[kind],
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=RESPONSES[kind].FromString,
            )
        return self.starting

    async def open_feeds(self) -> None:
        for spec in FEEDS:
            # A channel of its own: a feed's stream does not share the calls' connection.
            feed = Feed(spec, self.channel(spec.agency, own=True))
            await feed.open()
            self.feeds.append(feed)

    async def run(self, rate: float, seconds: float, max_requests: int) -> None:
        """Sends calls at `rate` a second for `seconds` or `max_requests` calls, whichever
        ends first, and waits for their answers."""
        pacing = Pacing(rate=rate)
        loop = asyncio.get_running_loop()
        in_flight: set[asyncio.Task[None]] = set()
        start = loop.time()
        kinds = list(KINDS)
        weights = [(k, KINDS[k][2]) for k in kinds]
        index = 0
        while index < max_requests:
            due = pacing.due(index, 0)
            if due >= seconds:
                break
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.max_behind_s = max(self.max_behind_s, -delay)
            while len(in_flight) >= MAX_IN_FLIGHT:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(self.send(choose(self.rng, weights)))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            self.max_in_flight = max(self.max_in_flight, len(in_flight))
            index += 1
        self.sent += index
        await asyncio.gather(*in_flight)

    async def send(self, kind: str) -> None:
        purpose = KINDS[kind][1]
        request, after = self._request(kind)
        if request is None:  # no citizen free to rename right now: look one up instead
            kind, request, after = "lookup_citizen", *self._request("lookup_citizen")
            purpose = KINDS[kind][1]
        tally = self.tallies[kind]
        tally.requests += 1
        metadata = gateway_metadata(purpose, OFFICER)
        started = time.perf_counter()
        try:
            response = await self._stubs[kind](request, metadata=metadata, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            tally.errors += 1
            tally.failures[f"{error.code().name}: {_details(error)}"] += 1
            if after is not None:
                after(None)
            return
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if after is not None:
            after(response)

    def _request(self, kind: str) -> tuple[Message | None, Callable[[Any], None] | None]:
        """The next request of `kind`, and what to do with its answer (None when failed)."""
        data = self.starting
        assert data is not None
        pick = self.rng.choice
        if kind == "lookup_citizen":
            return ppb.GetCitizenRequest(citizen_id=pick(data.citizens).citizen_id), None
        if kind == "lookup_parcel":
            return lpb.GetParcelRequest(parcel_id=pick(data.parcels)), None
        if kind == "lookup_enterprise":
            return bpb.GetEnterpriseRequest(enterprise_code=pick(data.enterprises)), None
        if kind == "verify_citizen":
            return _verification(pick(data.citizens)), None
        if kind == "batch_verify_citizens":
            people = self.rng.sample(data.citizens, min(BATCH_VERIFY, len(data.citizens)))
            return ppb.BatchVerifyCitizensRequest(requests=[_verification(c) for c in people]), None
        assert kind == "rename_citizen"
        return self._rename()

    def _rename(self) -> tuple[Message | None, Callable[[Any], None] | None]:
        data = self.starting
        assert data is not None
        for _ in range(len(data.writable)):
            at = next(self._turn)
            citizen = data.writable[at]
            if citizen.citizen_id not in self._writing:
                break
        else:
            return None, None
        name = self.registrar.new_name(citizen)
        if name == citizen.full_name:
            return None, None
        self._writing.add(citizen.citizen_id)
        request = ppb.UpdateCitizenRequest(
            citizen=citizen_pb2.Citizen(citizen_id=citizen.citizen_id, full_name=name),
            update_mask=FieldMask(paths=["full_name"]),
            expected_version=citizen.version,
        )

        def answered(response: citizen_pb2.Citizen | None) -> None:
            if response is None:
                return  # its version is unknown now: it stays aside, renamed no more
            self._writing.discard(citizen.citizen_id)
            data.writable[at] = replace(citizen, full_name=name, version=response.version)
            self.written.append((citizen.citizen_id, response.version))

        return request, answered

    async def close(self) -> None:
        for feed in self.feeds:
            await feed.close()
        for channel in self.channels.values():
            await channel.close(grace=None)


def _verification(c: Citizen) -> ppb.VerifyCitizenRequest:
    """A bank's check of a customer's name and date of birth (as first read: a renamed
    citizen's check answers MISMATCH, which is an answer too)."""
    claims = citizen_pb2.Citizen(full_name=c.full_name)
    date_to_proto(c.date_of_birth, claims.date_of_birth)
    return ppb.VerifyCitizenRequest(
        citizen_id=c.citizen_id,
        claims=claims,
        claim_mask=FieldMask(paths=["full_name", "date_of_birth"]),
    )
