"""Shared test fixtures: the real Kafka broker, PostgreSQL, and the dev PKI.

Tests that need the broker or a database start them through the same code as `make up`
(`ndx_cli.stack`), or use an existing cluster when KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
