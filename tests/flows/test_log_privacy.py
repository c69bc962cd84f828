"""What the services log while they work: JSON lines with trace ids, and no personal data
unless the operator allows it. Real calls through the gateway, real events applied by land
and business, a refused call and a dead-lettered record, against the real broker."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import structlog

from ndx.population.v1 import population_service_pb2 as ppb
from ndx_cli.exchange import Exchange
from ndx_runtime.kafka import create_producer
from ndx_runtime.logs import REDACTED, configure_logging

from .police import METADATA, parcel_holders, police, record_death

UNKNOWN = "001099000001"
Capture = Callable[[bool], io.StringIO]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Logging (debug, JSON) into a buffer; the previous configuration comes back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(personal_data: bool) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging("DEBUG", "json", "test", personal_data=personal_data, stream=buffer)
        return buffer

    yield configure
    structlog.configure(**saved)
    root.handlers[:], root.level = handlers, level


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def handled(exchange: Exchange) -> Callable[[], int]:
    consumers = [c for s in (exchange.land, exchange.business) for c in s.consumers]
    return lambda: sum(c.stats.handled + c.stats.dead_lettered for c in consumers)


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Waits for the consumers (other tasks) to get there."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def work(exchange: Exchange, citizen_id: str) -> str:
    """A death through the gateway applied by land and business, a refused call, and a record
    land and business cannot handle; returns the citizen's name."""
    count = handled(exchange)
    before = count()
    citizen = await record_death(exchange, citizen_id)
    with pytest.raises(grpc.aio.AioRpcError):
        await police(exchange).GetCitizen(
            ppb.GetCitizenRequest(citizen_id=UNKNOWN), metadata=METADATA
        )
    producer = create_producer(exchange.population.settings.kafka_bootstrap_servers, "test")
    await producer.start()
    try:
        await producer.send_and_wait(
            exchange.citizen_topic,
            b"\x00not a change event",
            key=citizen_id.encode(),
            headers=[("ce_type", b"ndx.population.v1.Unknown")],
        )
    finally:
        await producer.stop()
    # The death and the stray record, each through land's group and business's.
    await until(lambda: count() >= before + 4)
    return citizen.full_name


async def test_no_personal_data_in_any_line_unless_allowed(
    observed: Exchange, capture: Capture
) -> None:
    quiet, talkative = await parcel_holders(observed, 2)

    buffer = capture(False)
    name = await work(observed, quiet)
    found = lines(buffer)
    events = [line["event"] for line in found]
    assert "record dead-lettered" in events
    applied = [line for line in found if line["event"] == "citizen change applied"]
    assert applied and all(line["citizen_id"] == REDACTED for line in applied)
    calls = [line for line in found if line["event"] == "rpc"]
    assert {line["method"].rsplit("/", 1)[-1] for line in calls} >= {"GetCitizen", "RecordDeath"}
    assert all(len(line["trace_id"]) == 32 for line in calls)
    # Land's line about the death is in the trace of the call that recorded it.
    [death] = [line for line in calls if line["method"].endswith("/RecordDeath")]
    assert death["trace_id"] in {line["trace_id"] for line in applied}
    text = json.dumps(found, ensure_ascii=False)
    for personal in (quiet, name, UNKNOWN):
        assert personal not in text

    buffer = capture(True)
    await work(observed, talkative)
    applied = [line for line in lines(buffer) if line["event"] == "citizen change applied"]
    assert talkative in {line["citizen_id"] for line in applied}
