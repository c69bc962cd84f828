"""OpenTelemetry set-up. The SDK and the exporter follow the standard OTEL_* variables."""

from __future__ import annotations

import os

from opentelemetry import propagate, trace
from opentelemetry.sdk.environment_variables import OTEL_TRACES_SAMPLER
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler


def tracing_resource(service_name: str) -> Resource:
    """The service's resource: `service_name` unless OTEL_SERVICE_NAME or
    OTEL_RESOURCE_ATTRIBUTES say otherwise (they win, as the specification wants)."""
    # Resource.create lets explicit attributes override the environment's; merging the
    # environment's again on top restores its precedence.
    return Resource.create({"service.name": service_name}).merge(OTELResourceDetector().detect())


def tracer_provider(
    service_name: str, *, otlp: bool = False, processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """A tracer provider (sampler from OTEL_TRACES_SAMPLER); `otlp` adds the OTLP exporter,
    configured by the OTEL_EXPORTER_OTLP_* variables."""
    sampler: Sampler | None = None
    if not otlp and not processors and OTEL_TRACES_SAMPLER not in os.environ:
        # Nothing would receive the spans: make them (trace ids still reach logs, audit
        # records and the services called) but record none, unless the caller's trace is.
        sampler = ParentBased(ALWAYS_OFF)
    provider = TracerProvider(resource=tracing_resource(service_name), sampler=sampler)
    for processor in processors or []:
        provider.add_span_processor(processor)
    if otlp:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def configure_tracing(
    service_name: str, *, otlp: bool = False, processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Installs the process's tracer provider. OpenTelemetry allows one per process: when one
    is installed already (services started side by side, tests), `processors` join it."""
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):
        for processor in processors or []:
            installed.add_span_processor(processor)
        return installed
    provider = tracer_provider(service_name, otlp=otlp, processors=processors)
    trace.set_tracer_provider(provider)
    return provider


def inject_headers() -> dict[str, str]:
    """The current trace context as W3C headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
