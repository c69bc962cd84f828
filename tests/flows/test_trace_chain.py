"""One trace from an agency's call to what other registries did about it, across Kafka.

The whole exchange runs in this process (so that its spans reach one in-memory exporter),
against the real broker: an agency records a death through the gateway; the population
registry commits it with its event; the relay publishes the event; land and business apply it.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ndx.population.v1 import population_service_pb2 as ppb
from ndx_cli.exchange import Exchange, change_topics

from .police import METADATA, parcel_holders, police, record_death

RECORD_DEATH = "ndx.population.v1.PopulationService/RecordDeath"


def in_trace(spans: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    ]


def only(found: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(found) == 1, f"expected one {what}, found {[s.name for s in found]}"
    return found[0]


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


async def test_a_death_recorded_through_the_gateway_is_one_trace_to_land_and_business(
    observed: Exchange, spans: InMemorySpanExporter
) -> None:
    [citizen_id] = await parcel_holders(observed, 1)
    # The agency's own span: its trace context travels with the call.
    agency = trace.get_tracer("agency").start_span("record death", kind=SpanKind.CLIENT)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(agency))
    await record_death(observed, citizen_id, list(carrier.items()))
    agency.end()
    trace_id = agency.get_span_context().trace_id
    topics = change_topics(observed.prefix)
    land_group, business_group = f"{observed.prefix}.land", f"{observed.prefix}.business"

    def consumed_by(group: str) -> list[ReadableSpan]:
        return [
            s
            for s in in_trace(spans, trace_id)
            if s.kind == SpanKind.CONSUMER
            and (s.attributes or {}).get("messaging.consumer.group.name") == group
        ]

    def sent_to(topic: str) -> list[ReadableSpan]:
        return [
            s
            for s in in_trace(spans, trace_id)
            if s.kind == SpanKind.PRODUCER
            and (s.attributes or {}).get("messaging.destination.name") == topic
        ]

    async with asyncio.timeout(60):
        while not (  # noqa: ASYNC110 (the spans end in other tasks)
            consumed_by(land_group) and consumed_by(business_group) and sent_to(topics["parcel"])
        ):
            await asyncio.sleep(0.05)

    mine = in_trace(spans, trace_id)
    servers = [s for s in mine if s.kind == SpanKind.SERVER and s.name == RECORD_DEATH]
    gateway_server = only(
        [s for s in servers if parent_id(s) == agency.get_span_context().span_id], "gateway call"
    )
    gateway_client = only(
        [s for s in mine if s.kind == SpanKind.CLIENT and parent_id(s) == span_id(gateway_server)],
        "call to the registry",
    )
    assert gateway_client.name == RECORD_DEATH
    assert (gateway_client.attributes or {})["rpc.grpc.status_code"] == 0
    registry_server = only(
        [s for s in servers if parent_id(s) == span_id(gateway_client)], "registry call"
    )
    published = only(sent_to(topics["citizen"]), "citizen event sent")
    assert parent_id(published) == span_id(registry_server)
    assert published.name == f"send {topics['citizen']}"
    assert published.attributes is not None
    assert published.attributes["messaging.system"] == "kafka"
    assert published.attributes["messaging.operation.type"] == "send"
    for group in (land_group, business_group):
        consumed = only(consumed_by(group), f"citizen event processed by {group}")
        assert parent_id(consumed) == span_id(published)
        assert consumed.name == f"process {topics['citizen']}"
        assert consumed.attributes is not None
        assert consumed.attributes["messaging.destination.name"] == topics["citizen"]
        assert consumed.attributes["messaging.operation.type"] == "process"
    # What land did about the death (the holder's parcels changed) continues the same trace.
    land_consumed = only(consumed_by(land_group), "land's processing")
    for parcel_sent in sent_to(topics["parcel"]):
        assert parent_id(parcel_sent) == span_id(land_consumed)
    # The citizen's id (the record key) is in no span's name or attributes.
    for s in mine:
        assert citizen_id not in s.name
        assert all(citizen_id not in str(v) for v in (s.attributes or {}).values())


async def test_a_refused_call_marks_the_client_span_failed(
    observed: Exchange, spans: InMemorySpanExporter
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await police(observed).GetCitizen(
            ppb.GetCitizenRequest(citizen_id="001099000001"), metadata=METADATA
        )
    code = refused.value.code()
    assert code == grpc.StatusCode.NOT_FOUND
    [client] = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CLIENT
        and s.name == "ndx.population.v1.PopulationService/GetCitizen"
        and (s.attributes or {}).get("rpc.grpc.status_code") == code.value[0]
    ]
    assert not client.status.is_ok
    assert client.status.description == "NOT_FOUND"
