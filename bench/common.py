"""Shared benchmark plumbing: the machine's description, results files, the local stack."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ndx_runtime.envelope import EventRecord

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STATE = ROOT / ".ndx"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {}
    for package in ("grpcio", "protobuf", "aiokafka", "sqlalchemy", "aiosqlite", "asyncpg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "kafka": "Apache Kafka 4.1.1 (KRaft, single node, local)",
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Writes bench/results/<name>.json and prints the figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": name,
        "time": datetime.now(UTC).isoformat(),
        "machine": machine(),
        **figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return path


def percentile(values: list[float], p: float) -> float:
    """The `p` quantile (0 to 1) of `values`, nearest rank; NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux); 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def population_env(url: str, port: int, bootstrap: str, pki: Path) -> dict[str, str]:
    """The environment of a population registry process serving `url` on `port`, answering the
    gateway's certificate, publishing on a topic of its own."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "POPULATION_DATABASE_URL": url,
        "POPULATION_GRPC_PORT": str(port),
        "POPULATION_TLS_CERT_FILE": str(pki / "population.crt"),
        "POPULATION_TLS_KEY_FILE": str(pki / "population.key"),
        "POPULATION_TLS_CA_FILE": str(pki / "ca.crt"),
        "POPULATION_ALLOWED_IDENTITIES": json.dumps(["service/gateway"]),
        "POPULATION_CITIZEN_TOPIC": f"bench.{uuid.uuid4().hex[:8]}.citizen",
        "POPULATION_LOG_LEVEL": "WARNING",
    }


def kafka_bootstrap() -> str:
    from ndx_cli.stack.kafka import ensure_kafka

    return ensure_kafka(STATE)


def dev_pki() -> Path:
    """The local dev certificates (made when missing)."""
    from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki

    pki = STATE / "pki"
    DevPki(pki).ensure(DEFAULT_IDENTITIES)
    return pki


async def publish(bootstrap: str, records: Iterable[EventRecord], client_id: str) -> None:
    """Produces event records as a registry's relay would (idempotent, acks=all), 5,000 in
    flight at most."""
    import asyncio

    from ndx_runtime.kafka import create_producer

    producer = create_producer(bootstrap, client_id)
    await producer.start()
    try:
        pending = []
        for record in records:
            pending.append(
                await producer.send(
                    record.topic, record.value, key=record.key, headers=record.headers
                )
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
