"""OpenTelemetry set-up. Exporters follow the standard OTEL_* variables."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(
    service_name: str, *, otlp: bool = False, processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Installs a tracer provider; `otlp` adds the OTLP exporter (set by OTEL_* variables)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    for processor in processors or []:
        provider.add_span_processor(processor)
    if otlp:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def inject_headers() -> dict[str, str]:
    """The current trace context as W3C headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
