"""Log lines: JSON with trace ids, and personal data redacted unless allowed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ndx_runtime.logs import REDACTED, configure_logging
from ndx_runtime.telemetry import configure_tracing

CITIZEN = "001099000001"
NAME = "Nguyễn Thị Lan"

Capture = Callable[..., io.StringIO]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Configures logging into a buffer; the previous configuration comes back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(**options: Any) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging("DEBUG", "json", "test", stream=buffer, **options)
        return buffer

    yield configure
    structlog.configure(**saved)
    root.handlers[:], root.level = handlers, level


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def emit() -> None:
    log = structlog.get_logger("test")
    log.info("citizen renamed", citizen_id=CITIZEN, full_name=NAME, version=3)
    log.debug(f"looked up {CITIZEN}", found={"holders": [CITIZEN], "parcels": 2})
    logging.getLogger("library").warning("cannot apply %s", CITIZEN)
    try:
        raise ValueError(f"no citizen {CITIZEN}")
    except ValueError:
        log.exception("failed", offsets={0: 123456789012345})


def test_personal_data_is_redacted_at_every_level(capture: Capture) -> None:
    buffer = capture()
    emit()
    found = lines(buffer)
    assert [line["event"] for line in found][:1] == ["citizen renamed"]
    assert len(found) == 4
    text = json.dumps(found, ensure_ascii=False)
    assert CITIZEN not in text
    assert NAME not in text
    renamed, looked_up, library, failed = found
    assert renamed["citizen_id"] == REDACTED
    assert renamed["full_name"] == REDACTED
    assert renamed["version"] == 3
    assert looked_up["event"] == f"looked up {REDACTED}"
    assert looked_up["found"] == {"holders": REDACTED, "parcels": 2}
    assert library["event"] == f"cannot apply {REDACTED}"
    assert f"no citizen {REDACTED}" in failed["exception"]
    # Longer numbers are not national ids.
    assert failed["offsets"] == {"0": 123456789012345}


def test_personal_data_stays_when_allowed(capture: Capture) -> None:
    buffer = capture(personal_data=True)
    emit()
    renamed, looked_up, library, failed = lines(buffer)
    assert (renamed["citizen_id"], renamed["full_name"]) == (CITIZEN, NAME)
    assert looked_up["event"] == f"looked up {CITIZEN}"
    assert library["event"] == f"cannot apply {CITIZEN}"
    assert f"no citizen {CITIZEN}" in failed["exception"]


def test_lines_inside_a_span_carry_its_ids(capture: Capture) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("test", processors=[SimpleSpanProcessor(exporter)])
    buffer = capture()
    with trace.get_tracer("test").start_as_current_span("call") as span:
        structlog.get_logger("test").info("inside")
    structlog.get_logger("test").info("outside")
    inside, outside = lines(buffer)
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside
    exporter.shutdown()
