"""Shared test fixtures: the real Kafka broker, PostgreSQL, and the dev PKI.

Tests that need the broker or a database start them through the same code as `make up`
(`ndx_cli.stack`), or use an existing cluster when KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

ROOT = Path(__file__).parent
STATE = ROOT / ".ndx"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Fixtures that start real infrastructure mark their tests, so `-m "not kafka"` works.
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"kafka_bootstrap", "population", "population_db"}:
            item.add_marker(pytest.mark.kafka)
        if names & {"postgres_server", "database_url"}:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    from ndx_cli.stack.kafka import ensure_kafka

    return ensure_kafka(STATE)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from ndx_cli.stack.postgres import PostgresStack

    stack = PostgresStack(STATE)
    stack.start()
    return stack


@pytest.fixture(scope="session")
def pki() -> Path:
    from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki

    DevPki(STATE / "pki").ensure(DEFAULT_IDENTITIES)
    return STATE / "pki"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each supported kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    stack = request.getfixturevalue("postgres_server")
    return str(stack.create_database(f"t_{uuid.uuid4().hex[:12]}"))  # type: ignore[attr-defined]


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and consumer-group names."""
    return uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Scrape:
    """One scrape of a service's /metrics: the text as served, and its samples."""

    text: str
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels` (0 if none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def series(self, name: str, **labels: str) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]


@pytest.fixture
def scrape() -> Callable[[int], Awaitable[Scrape]]:
    """Reads http://127.0.0.1:<port>/metrics over HTTP, as Prometheus would."""

    def get(port: int) -> Scrape:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            assert reply.status == 200
            text = reply.read().decode()
        families = text_string_to_metric_families(text)
        return Scrape(text, [s for family in families for s in family.samples])

    async def read(port: int) -> Scrape:
        return await asyncio.to_thread(get, port)

    return read
