"""Tracing set-up honours the standard OTEL_* variables; trace context crosses Kafka records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ndx_runtime.kafka_tracing import BatchTrace, record_context, send_span
from ndx_runtime.telemetry import configure_tracing, tracer_provider, tracing_resource


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("test", processors=[SimpleSpanProcessor(exporter)])
    yield exporter
    exporter.shutdown()


def traced_headers() -> tuple[list[tuple[str, bytes]], trace.SpanContext]:
    """Headers as the outbox stores them for a write made under a span."""
    span = trace.get_tracer("test").start_span("write")
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    headers = [("ce_id", b"e-1"), *((k, v.encode()) for k, v in carrier.items())]
    return headers, span.get_span_context()


def test_the_service_name_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert tracing_resource("land").attributes["service.name"] == "land"


def test_otel_service_name_and_resource_attributes_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "land-eu1")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging")
    attributes = tracing_resource("land").attributes
    assert attributes["service.name"] == "land-eu1"
    assert attributes["deployment.environment.name"] == "staging"

    monkeypatch.delenv("OTEL_SERVICE_NAME")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")
    assert tracing_resource("land").attributes["service.name"] == "from-attributes"


def test_the_sampler_follows_otel_traces_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    description = tracer_provider("land").sampler.get_description()
    assert "TraceIdRatioBased{0.25}" in description


def test_a_second_configuration_adds_its_processors(spans: InMemorySpanExporter) -> None:
    again = InMemorySpanExporter()
    provider = configure_tracing("other", processors=[SimpleSpanProcessor(again)])
    assert trace.get_tracer_provider() is provider
    trace.get_tracer("test").start_span("seen by both").end()
    assert [s.name for s in again.get_finished_spans()] == ["seen by both"]
    assert "seen by both" in [s.name for s in spans.get_finished_spans()]
    again.shutdown()


def test_a_sent_record_carries_its_producer_span(spans: InMemorySpanExporter) -> None:
    headers, written = traced_headers()
    span, sent = send_span("ndx.population.citizen.v1", 3, headers)
    assert span is not None
    span.end()
    [producer] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert producer.parent is not None and producer.parent.span_id == written.span_id
    assert producer.name == "send ndx.population.citizen.v1"
    assert dict(producer.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": "ndx.population.citizen.v1",
        "messaging.destination.partition.id": "3",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": "e-1",
    }
    # The record now names the producer span as its parent; the other headers stay.
    context = record_context(sent)
    assert context is not None
    assert trace.get_current_span(context).get_span_context().span_id == span_id(producer)
    assert ("ce_id", b"e-1") in sent


def test_a_record_without_trace_context_gets_no_span(spans: InMemorySpanExporter) -> None:
    headers = [("ce_id", b"e-2")]
    assert send_span("t", 0, headers) == (None, headers)
    assert spans.get_finished_spans() == ()


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def test_a_batch_is_handled_under_a_span_linked_to_each_record(
    spans: InMemorySpanExporter,
) -> None:
    (first, one), (second, two) = traced_headers(), traced_headers()
    traced = BatchTrace("t", "g", [(0, 10, first), (0, 11, []), (1, 5, second)])
    assert traced.spans[1] is None
    with traced.handling():
        assert trace.get_current_span() is traced.current
    consumer = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    [batch] = [s for s in consumer if s.parent is None]
    assert (batch.attributes or {})["messaging.batch.message_count"] == 3
    assert [link.context.span_id for link in batch.links] == [one.span_id, two.span_id]
    records = sorted((s for s in consumer if s.parent is not None), key=lambda s: s.start_time or 0)
    assert [s.parent.span_id for s in records if s.parent] == [one.span_id, two.span_id]
    assert [(s.attributes or {})["messaging.kafka.offset"] for s in records] == [10, 5]
    assert all([link.context.span_id for link in s.links] == [span_id(batch)] for s in records)


def test_a_single_traced_record_is_handled_under_its_own_span(
    spans: InMemorySpanExporter,
) -> None:
    headers, written = traced_headers()
    traced = BatchTrace("t", "g", [(0, 1, headers)])
    assert traced.current is traced.spans[0]
    with pytest.raises(RuntimeError), traced.handling():
        raise RuntimeError("database down")
    [consumer] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert consumer.parent is not None and consumer.parent.span_id == written.span_id
    assert not consumer.links
    assert not consumer.status.is_ok


def test_with_nothing_to_export_spans_carry_ids_but_record_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    span = tracer_provider("quiet").get_tracer("t").start_span("call")
    assert span.get_span_context().is_valid and not span.is_recording()
    # A caller's sampled trace is still followed.
    parent = trace.SpanContext(1, 2, is_remote=True, trace_flags=trace.TraceFlags(1))
    child = (
        tracer_provider("quiet")
        .get_tracer("t")
        .start_span("call", context=trace.set_span_in_context(trace.NonRecordingSpan(parent)))
    )
    assert child.is_recording() and child.get_span_context().trace_id == 1
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert tracer_provider("loud").get_tracer("t").start_span("call").is_recording()
