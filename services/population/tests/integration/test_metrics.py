"""The population registry's /metrics, scraped over HTTP: calls by method and status code,
events published, the outbox backlog, and nothing that identifies a citizen."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from ndx.population.v1 import population_service_pb2 as pb
from ndx_population.bootstrap import SERVICE_NAME, start
from ndx_population.config import PopulationSettings

from ..conftest import Running, registry_settings
from .test_registry_grpc import new_citizen

UNKNOWN = "001190099999"


@pytest.fixture
def population_settings(
    database_url: str, kafka_bootstrap: str, pki: Path, unique: str
) -> PopulationSettings:
    settings = registry_settings(database_url, kafka_bootstrap, pki, unique)
    return settings.model_copy(update={"metrics_port": 0})


def port_of(population: Running) -> int:
    server = population.service.metrics_server
    assert server is not None, "metrics_port=0 serves metrics on a free port"
    return server.port


async def test_calls_events_and_backlog_are_served(population: Running, scrape: Any) -> None:
    service, port = population.service, port_of(population)
    # The relay paused, as when Kafka is away: the write waits in the outbox.
    [relay_task] = service.tasks
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    stub = population.stub()
    created = await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetCitizen(pb.GetCitizenRequest(citizen_id=UNKNOWN))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    await service.relay.measure()
    waiting = await scrape(port)
    assert waiting.value("ndx_outbox_backlog_events") == 1
    assert waiting.value("ndx_outbox_oldest_event_age_seconds") > 0
    topic = population.settings.citizen_topic
    assert waiting.value("ndx_events_published_total", topic=topic) == 0

    service.tasks[:] = [asyncio.create_task(service.relay.run())]
    async with asyncio.timeout(20):
        while True:
            metrics = await scrape(port)
            if metrics.value("ndx_outbox_backlog_events") == 0:
                break
            await asyncio.sleep(0.1)
    calls = {"grpc_service": SERVICE_NAME}
    assert metrics.value("ndx_events_published_total", topic=topic) == 1
    assert metrics.value("ndx_outbox_oldest_event_age_seconds") == 0
    for method, code in (("RegisterCitizen", "OK"), ("GetCitizen", "NOT_FOUND")):
        assert (
            metrics.value(
                "ndx_grpc_server_handled_total", grpc_method=method, grpc_code=code, **calls
            )
            == 1
        ), (method, code)
        handling = {"grpc_method": method, **calls}
        assert metrics.value("ndx_grpc_server_handling_seconds_count", **handling) == 1
        assert metrics.value("ndx_grpc_server_handling_seconds_bucket", le="+Inf", **handling) == 1
        assert metrics.value("ndx_grpc_server_handling_seconds_sum", **handling) > 0
    # The process's own metrics come with them.
    assert metrics.value("process_cpu_seconds_total") > 0
    assert {s.name for s in metrics.samples} >= {"python_gc_collections_total", "python_info"}
    text = metrics.text
    assert created.citizen_id not in text and UNKNOWN not in text


async def test_stopping_the_service_stops_serving_metrics(
    population_settings: PopulationSettings, scrape: Any
) -> None:
    service = await start(population_settings)
    server = service.metrics_server
    assert server is not None
    await scrape(server.port)
    await service.stop()
    assert not server.thread.is_alive()
    with pytest.raises(OSError, match="refused"):
        await scrape(server.port)
