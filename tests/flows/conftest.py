"""Three registries in one process, seeded from one seed, on their own topics and groups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_runtime.telemetry import configure_tracing

SIZES = Sizes()
SEED, CITIZENS, ENTERPRISES, PARCELS = SIZES.seed, SIZES.citizens, SIZES.enterprises, SIZES.parcels

__all__ = ["Exchange"]


@pytest.fixture
async def exchange(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[Exchange]:
    running = await start_exchange(tmp_path, kafka_bootstrap, pki, f"test.{unique}", sizes=SIZES)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process finishes while the module runs."""
    exporter = InMemorySpanExporter()
    # The tracer provider is set once per process: a later call adds its processor to it.
    configure_tracing("ndx-tests", processors=[SimpleSpanProcessor(exporter)])
    yield exporter
    exporter.shutdown()  # the processor stays with the provider; a shut exporter keeps nothing


@pytest.fixture(scope="module")
async def observed(
    tmp_path_factory: pytest.TempPathFactory,
    kafka_bootstrap: str,
    pki: Path,
    spans: InMemorySpanExporter,
) -> AsyncIterator[Exchange]:
    """The exchange behind its gateway, traced (its spans in `spans`), shared by a module."""
    data = tmp_path_factory.mktemp("observed")
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    sizes = Sizes(citizens=1_000, enterprises=200, parcels=300)
    running = await start_exchange(data, kafka_bootstrap, pki, prefix, sizes=sizes, gateway=True)
    try:
        yield running
    finally:
        await running.stop()
