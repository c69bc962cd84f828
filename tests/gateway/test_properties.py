"""Random calls through the real gateway, as every agency (and as services and operators that
are not agencies): any method of the registries and the gateway, valid messages with random
field values and masks, random or broken bytes, and metadata that is missing, garbage, too long
or tries to claim another identity. Whatever comes in, the gateway answers with a documented
status, an answer holds only what the policy grants the certificate's agency for the purpose,
the audit record names the certificate's identity, and a known-good call still works after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic
from ndx_runtime.tls import channel_credentials

from ..faults.figures import record, scale
from .conftest import POOL, System
from .support import BATCH_VERIFY, GET_CITIZEN, VERIFY_CITIZEN, rows
from .test_policy_matrix import DEFAULT, RESOURCES, SERVED, granted_paths, instances, leaves

Code = grpc.StatusCode
AGENCIES = sorted({agency for agency, _ in DEFAULT.grants})
# Certificates of the exchange that are not agencies: the gateway must refuse them too.
NOT_AGENCIES = {"population": "service/population", "ndx-admin": "operator/ndx-admin"}
PURPOSES = sorted({purpose for _, purpose in DEFAULT.grants})
METHODS = sorted(f"{s}/{m.name}" for s in SERVED for m in POOL.FindServiceByName(s).methods)
# What the gateway itself answers, and the registries to reads.
DOCUMENTED = {
    Code.OK,
    Code.INVALID_ARGUMENT,
    Code.NOT_FOUND,
    Code.PERMISSION_DENIED,
    Code.UNAUTHENTICATED,
    Code.RESOURCE_EXHAUSTED,
}
# The registries' answers to writes: a duplicate, a stale expected_version, a broken rule.
WRITES = {Code.ALREADY_EXISTS, Code.ABORTED, Code.FAILED_PRECONDITION}
IDS = ("citizen", "household", "ward", "parcel", "mortgage", "enterprise")
# (agency, purpose) pairs granted at least one method the gateway serves.
CALLABLE = sorted(
    pair for pair, grant in DEFAULT.grants.items() if set(grant.methods) & set(METHODS)
)
READS = ("Get", "BatchGet", "List", "Verify", "BatchVerify")
GARBAGE_PATHS = ["", ".", "*", "..", "a..b", "full_name.", "no_such_field", "full_name.x", "ids.*"]
IDENTITY_HEADERS = [
    "x-ndx-agency",
    "x-ndx-identity",
    "x-ndx-purpose",
    "x-ndx-officer",
    "x-ndx-caller",
    "x-forwarded-client-cert",
    "x-ssl-client-subject",
]
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@dataclass
class Attempt:
    """One random call and what was sent."""

    agency: str
    method: str
    body: bytes
    metadata: list[tuple[str, str | bytes]]
    trace_id: str = ""
    code: grpc.StatusCode | None = None

    @property
    def purpose(self) -> str | None:
        """The purpose the gateway reads: the last text `x-ndx-purpose` value."""
        text = {k: v for k, v in self.metadata if isinstance(v, str)}
        return text.get("x-ndx-purpose")

    def sent(self) -> list[tuple[str, str | bytes]]:
        return [*self.metadata, ("traceparent", f"00-{self.trace_id}-{'1' * 16}-01")]


Ids = dict[str, list[str]]  # kind ("citizen", "parcel", ...) -> seeded ids of that kind


def id_kind(fd: FieldDescriptor) -> str | None:
    """Which seeded ids a string field takes, by its name ("holder_citizen_id": citizen)."""
    if fd.type != FieldDescriptor.TYPE_STRING:
        return None
    return next((kind for kind in IDS if kind in fd.name), None)


def scalars(fd: FieldDescriptor, ids: Ids, garbage: bool) -> st.SearchStrategy[Any]:
    kind = fd.type
    if (seeded := id_kind(fd)) is not None:
        existing = st.sampled_from(ids[seeded])
        return existing | st.text(max_size=24) if garbage else existing
    if fd.name == "page_size" and not garbage:
        return st.integers(0, 20)
    if fd.name == "page_token" and not garbage:
        return st.just("")
    if kind == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=40)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        # Proto3 enums are open: values the contract does not name are legal on the wire.
        return st.sampled_from([v.number for v in fd.enum_type.values]) | st.integers(-3, 99)
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32):
        return st.integers(-(2**31), 2**31 - 1)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
        return st.integers(-(2**63), 2**63 - 1)
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=32)
    raise AssertionError(fd.full_name)


def mask_paths(resource: str | None, garbage: bool) -> st.SearchStrategy[list[str]]:
    """Paths of the resource (top-level and nested) mixed with paths that name nothing."""
    valid: list[str] = []
    if resource is not None:
        for fd in POOL.FindMessageTypeByName(resource).fields:
            valid.append(fd.name)
            if fd.message_type is not None and not fd.is_repeated:
                valid.extend(f"{fd.name}.{sub.name}" for sub in fd.message_type.fields)
    if valid and not garbage:
        return st.lists(st.sampled_from(valid), max_size=4)
    paths = st.sampled_from(GARBAGE_PATHS) | st.text(max_size=20)
    if valid:
        paths = st.sampled_from(valid) | paths
    return st.lists(paths, max_size=4)


@st.composite
def messages(
    draw: st.DrawFn,
    descriptor: Descriptor,
    ids: Ids,
    resource: str | None,
    garbage: bool,
    depth: int = 0,
) -> Message:
    """A message of `descriptor` with random values in a random subset of its fields (the
    top-level ids always, unless `garbage`)."""
    message = message_factory.GetMessageClass(descriptor)()
    for fd in descriptor.fields:
        always = not garbage and depth == 0 and id_kind(fd) is not None
        if not always and not draw(st.booleans()):
            continue
        if fd.message_type is not None and fd.message_type.full_name == "google.protobuf.FieldMask":
            getattr(message, fd.name).paths.extend(draw(mask_paths(resource, garbage)))
        elif fd.message_type is not None:
            if depth >= 2:
                continue
            sub = messages(fd.message_type, ids, resource, garbage, depth + 1)
            if fd.is_repeated:
                getattr(message, fd.name).extend(draw(st.lists(sub, max_size=3)))
            else:
                getattr(message, fd.name).CopyFrom(draw(sub))
        elif fd.is_repeated:
            getattr(message, fd.name).extend(
                draw(st.lists(scalars(fd, ids, garbage), min_size=int(always), max_size=4))
            )
        else:
            setattr(message, fd.name, draw(scalars(fd, ids, garbage)))
    return message


def requests(method: str, ids: Ids, *, garbage: bool) -> st.SearchStrategy[bytes]:
    """Requests of `method` with random values; `garbage` puts unknown paths in masks."""
    service, _, name = method.partition("/")
    descriptor = POOL.FindServiceByName(service).methods_by_name[name].input_type
    built = messages(descriptor, ids, RESOURCES.get(service), garbage)
    return built.map(lambda m: m.SerializeToString())


def bodies(method: str, ids: Ids) -> st.SearchStrategy[bytes]:
    """Valid requests, random bytes, and valid requests cut short or with a byte changed."""
    valid = requests(method, ids, garbage=True)

    @st.composite
    def broken(draw: st.DrawFn) -> bytes:
        data = draw(valid)
        if not data:
            return b"\xff"
        at = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            return data[:at]
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]

    return st.one_of(valid, valid, st.binary(max_size=300), broken())


def codes(what: str) -> st.SearchStrategy[tuple[str, str | bytes] | None]:
    """A purpose or officer header: well formed, missing, garbage, too long or not text."""
    key = f"x-ndx-{what}"
    plain = (
        st.sampled_from(PURPOSES) if what == "purpose" else st.from_regex(r"\A[a-z0-9-]{1,20}\Z")
    )
    return st.one_of(
        plain.map(lambda v: (key, v)),
        st.none(),
        st.text(ASCII, max_size=80).map(lambda v: (key, v)),
        st.integers(65, 6000).map(lambda n: (key, "o" * n)),
        # Unicode cannot travel in a text header; a binary one is not a purpose.
        st.text(min_size=1, max_size=30).map(lambda v: (f"{key}-bin", v.encode())),
    )


@st.composite
def attempts(draw: st.DrawFn, ids: Ids) -> Attempt:
    """Half the calls are well formed (the agency's own purpose, a granted method, a valid
    request) so that answers get checked too; the rest may be wrong in every way."""
    if draw(st.booleans()):
        agency, purpose = draw(st.sampled_from(CALLABLE))
        method = draw(
            st.sampled_from(sorted(set(DEFAULT.grants[(agency, purpose)].methods) & set(METHODS)))
        )
        headers = [h for h in IDENTITY_HEADERS if h not in ("x-ndx-purpose", "x-ndx-officer")]
        metadata = [("x-ndx-purpose", purpose), ("x-ndx-officer", "officer-007")]
        body = draw(requests(method, ids, garbage=False))
    else:
        agency = draw(st.sampled_from([*AGENCIES, *sorted(NOT_AGENCIES)]))
        method = draw(st.sampled_from(METHODS))
        headers = IDENTITY_HEADERS
        metadata = [m for m in (draw(codes("purpose")), draw(codes("officer"))) if m is not None]
        body = draw(bodies(method, ids))
    spoof = st.tuples(
        st.sampled_from(headers),
        st.sampled_from([*AGENCIES, "agency/police", "service/gateway"])
        | st.text(ASCII, max_size=40),
    )
    at = draw(st.integers(0, len(metadata)))
    metadata[at:at] = draw(st.lists(spoof, max_size=3))  # before or after the real headers
    return Attempt(agency, method, body, metadata)


def allowed(path: str, grants: list[str]) -> bool:
    return any(g == "" or path == g or path.startswith(g + ".") for g in grants)


def check_answer(attempt: Attempt, data: bytes) -> None:
    """An OK answer: the call was granted, and it holds only granted fields."""
    purpose = attempt.purpose
    assert purpose is not None and (attempt.agency, purpose) in DEFAULT.grants, attempt
    assert attempt.method in DEFAULT.grants[(attempt.agency, purpose)].methods, attempt
    service, _, name = attempt.method.partition("/")
    output = POOL.FindServiceByName(service).methods_by_name[name].output_type
    response = message_factory.GetMessageClass(output).FromString(data)
    for resource in RESOURCES.values():
        grants = granted_paths(attempt.agency, purpose, resource)
        for item in instances(response, resource):
            leaked = {p for p in leaves(item) if not allowed(p, grants)}
            assert not leaked, (attempt.agency, purpose, attempt.method, leaked)


def check_refusal(attempt: Attempt, error: grpc.RpcError) -> None:
    """A refusal: a documented status; a denial names the certificate's agency."""
    code = error.code()  # type: ignore[attr-defined]
    name = attempt.method.partition("/")[2]
    expected = DOCUMENTED | (set() if name.startswith(READS) else WRITES)
    assert code in expected, (code, error.details(), attempt)  # type: ignore[attr-defined]
    status = details_of(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if "agency" in info.metadata:
                assert info.metadata["agency"] == attempt.agency, (info, attempt)


@contextmanager
def channels(system: System) -> Iterator[dict[str, grpc.Channel]]:
    """Blocking channels to the gateway, one per certificate, for calls from a worker thread
    while the event loop serves the gateway."""
    pki = system.exchange.pki
    opened = {
        name: grpc.secure_channel(
            f"127.0.0.1:{system.gateway.port}",
            channel_credentials(pki / "ca.crt", pki / f"{name}.crt", pki / f"{name}.key"),
        )
        for name in [*AGENCIES, *NOT_AGENCIES]
    }
    try:
        yield opened
    finally:
        for channel in opened.values():
            channel.close()


def known_good(channel: grpc.Channel, citizen_id: str) -> None:
    stub = channel.unary_unary(f"/{GET_CITIZEN}")
    data = stub(
        _get_citizen(citizen_id),
        metadata=[("x-ndx-purpose", "tax-registration"), ("x-ndx-officer", "officer-007")],
        timeout=10,
    )
    assert data


def _get_citizen(citizen_id: str) -> bytes:
    descriptor = POOL.FindServiceByName("ndx.population.v1.PopulationService")
    request = message_factory.GetMessageClass(descriptor.methods_by_name["GetCitizen"].input_type)
    return request(citizen_id=citizen_id).SerializeToString()  # type: ignore[no-any-return]


async def seeded_ids(system: System) -> Ids:
    """Ids that exist, of each kind."""
    found: Ids = {}
    for kind, registry, sql in (
        ("citizen", "population", "select citizen_id from citizens limit 5"),
        ("household", "population", "select household_id from citizens limit 3"),
        ("ward", "population", "select permanent_address_ward from citizens limit 3"),
        ("parcel", "land", "select parcel_id from parcels limit 3"),
        ("mortgage", "land", "select mortgage_id from mortgages limit 3"),
        ("enterprise", "business", "select enterprise_code from enterprises limit 3"),
    ):
        found[kind] = [str(row[0]) for row in await rows(system, registry, sql)]
    return found


# The gateway serves on the event loop while the examples run in a thread; the loop's own use
# of `random` (Kafka client back-off) is not the strategies'.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_random_calls_get_documented_answers_and_only_granted_fields(
    system: System,
) -> None:
    ids = await seeded_ids(system)
    prefix = uuid.uuid4().hex[:16]
    made: list[Attempt] = []
    outcomes: dict[Code, int] = {}

    def run(open_channels: dict[str, grpc.Channel]) -> None:
        @settings(
            max_examples=200 * scale(),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(attempts(ids))
        def one(attempt: Attempt) -> None:
            attempt.trace_id = f"{prefix}{len(made) + 1:016x}"
            made.append(attempt)
            stub = open_channels[attempt.agency].unary_unary(f"/{attempt.method}")
            try:
                data = stub(attempt.body, metadata=attempt.sent(), timeout=10)
            except grpc.RpcError as error:
                attempt.code = error.code()
                outcomes[error.code()] = outcomes.get(error.code(), 0) + 1  # type: ignore[attr-defined]
                check_refusal(attempt, error)
            else:
                outcomes[Code.OK] = outcomes.get(Code.OK, 0) + 1
                check_answer(attempt, data)
            known_good(open_channels["tax-authority"], ids["citizen"][0])

        one()

    with channels(system) as open_channels:
        await asyncio.to_thread(run, open_channels)
    print(outcomes)
    # The run reached past the door: some calls were answered, some refused for policy.
    assert outcomes.get(Code.OK) and outcomes.get(Code.PERMISSION_DENIED), outcomes
    audited = await check_audit(system, made)
    record(
        "gateway-properties",
        broken=(
            "random calls through the gateway from every agency's certificate and from "
            "certificates that are not agencies: any method, random field values and field "
            "masks, random or truncated or bit-flipped bytes, missing, garbage, oversized and "
            "non-text purpose and officer headers, headers claiming another identity"
        ),
        checked=(
            "every answer has a documented status; an OK answer holds only the fields the "
            "policy grants the certificate's agency for the purpose; every call that reached "
            "the gateway has exactly one audit record naming the certificate's identity; a "
            "known-good call succeeds after each random one"
        ),
        calls=len(made),
        statuses={code.name: {"calls": n} for code, n in sorted(outcomes.items(), key=str)},
        fields_outside_grant=0,
        audited=audited,
        unaudited=0,
        crashes=0,
    )


async def check_audit(system: System, made: list[Attempt]) -> int:
    """Each call's audit record (found by its trace id) names the certificate's identity,
    whatever the metadata claimed; returns how many calls were audited."""
    by_trace = {a.trace_id: a for a in made}
    records = await read_topic(
        system.exchange.population.settings.kafka_bootstrap_servers,
        system.gateway.settings.audit_topic,
        at_least=len(made),
    )
    seen: dict[str, int] = {}
    for raw in records:
        record = audit_pb2.AuditRecord.FromString(raw.value)
        attempt = by_trace.get(record.trace_id)
        if attempt is None:
            continue
        seen[record.trace_id] = seen.get(record.trace_id, 0) + 1
        assert record.agency == NOT_AGENCIES.get(attempt.agency, attempt.agency), (record, attempt)
    assert all(n == 1 for n in seen.values())
    # Metadata over gRPC's size limit is refused by the transport before any handler runs.
    reached = {a.trace_id for a in made if a.code != Code.RESOURCE_EXHAUSTED}
    assert reached <= set(seen), reached - set(seen)
    return len(seen)


async def test_a_message_over_the_size_limit_is_refused_and_the_gateway_goes_on(
    system: System,
) -> None:
    ids = await seeded_ids(system)
    channel = system.exchange.channel(system.gateway.port, "tax-authority")
    stub = channel.unary_unary(f"/{GET_CITIZEN}")
    metadata = [("x-ndx-purpose", "tax-registration"), ("x-ndx-officer", "officer-007")]
    oversized = _get_citizen("0" * (17 * 1024 * 1024))  # the limit is 16 MiB
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub(oversized, metadata=metadata, timeout=30)
    assert caught.value.code() == Code.RESOURCE_EXHAUSTED
    assert await stub(_get_citizen(ids["citizen"][0]), metadata=metadata, timeout=10)


async def test_a_claim_on_a_value_the_registry_does_not_keep_is_invalid(system: System) -> None:
    """Found by the random calls: such a claim crashed the registry (UNKNOWN)."""
    ids = await seeded_ids(system)
    police = system.agency("police")
    for path in ("hometown.province_name", "permanent_address.ward_name", "update_time"):
        body = {"citizen_id": ids["citizen"][0], "claim_mask": {"paths": [path]}}
        for method, request in ((VERIFY_CITIZEN, body), (BATCH_VERIFY, {"requests": [body]})):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await police.call(method, request, purpose="population-management")
            assert caught.value.code() == Code.INVALID_ARGUMENT, (path, method)
            assert path in (caught.value.details() or ""), caught.value.details()
