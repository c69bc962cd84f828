"""The registries' event metrics, scraped over HTTP while land and business follow the
population registry: events published, consumed by outcome, consumer lag, dead letters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ndx.population.v1 import events_pb2
from ndx_cli.exchange import Exchange, start_exchange
from ndx_runtime.kafka import create_producer, read_topic
from ndx_runtime.service import RunningService

from .conftest import SIZES
from .test_citizen_events import (
    enterprise,
    eventually,
    rename,
    representative,
    sole_representatives,
)

NEW_NAME = "Đỗ Văn Đo"


@pytest.fixture
async def exchange(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[Exchange]:
    running = await start_exchange(
        tmp_path, kafka_bootstrap, pki, f"test.{unique}", sizes=SIZES, metrics_port=0
    )
    try:
        yield running
    finally:
        await running.stop()


def port(service: RunningService) -> int:
    assert service.metrics_server is not None
    return service.metrics_server.port


async def test_events_are_counted_from_outbox_to_dead_letters(
    exchange: Exchange, scrape: Any
) -> None:
    [(code, citizen_id)] = await sole_representatives(exchange, 1)
    topic = exchange.citizen_topic
    bootstrap = exchange.population.settings.kafka_bootstrap_servers
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        # A record no registry can read, then a rename, then the rename delivered again.
        await producer.send_and_wait(
            topic,
            b"\x0a\xff not protobuf",
            key=citizen_id.encode(),
            headers=[("ce_type", events_pb2.CitizenChanged.DESCRIPTOR.full_name.encode())],
        )
        await rename(exchange, citizen_id, NEW_NAME)
        [_, renamed] = await read_topic(bootstrap, topic, at_least=2)
        await producer.send_and_wait(
            topic, renamed.value, key=renamed.key, headers=list(renamed.headers)
        )
    finally:
        await producer.stop()

    async def renamed_in_business() -> bool:
        rep = representative(await enterprise(exchange, code), citizen_id)
        return rep.full_name == NEW_NAME

    await eventually(renamed_in_business)
    followers = {"business": exchange.business, "land": exchange.land}
    scrapes = {}
    for name, service in followers.items():
        [consumer] = service.consumers
        group = {"topic": topic, "group": consumer.group_id}

        async def done(port: int = port(service), group: dict[str, str] = group) -> bool:
            metrics = await scrape(port)
            return bool(metrics.value("ndx_events_consumed_total", **group) == 3)

        await eventually(done)
        metrics = scrapes[name] = await scrape(port(service))
        outcomes = {
            outcome: metrics.value("ndx_events_consumed_total", outcome=outcome, **group)
            for outcome in ("handled", "skipped", "dead_lettered")
        }
        assert outcomes == {"handled": 1, "skipped": 1, "dead_lettered": 1}, name
        assert (
            metrics.value(
                "ndx_dead_letter_records_total", topic=f"{topic}.dlq", group=consumer.group_id
            )
            == 1
        )
        lag = metrics.series("ndx_consumer_lag_events", **group)
        assert lag and all(s.value == 0 for s in lag), (name, lag)

    population = scrapes["population"] = await scrape(port(exchange.population))
    assert population.value("ndx_events_published_total", topic=topic) == 1
    assert population.value("ndx_outbox_backlog_events") == 0
    for name, metrics in scrapes.items():
        assert citizen_id not in metrics.text and NEW_NAME not in metrics.text, name
