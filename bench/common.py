"""Shared benchmark plumbing: the machine's description, results files, the local stack."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

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


def kafka_bootstrap() -> str:
    from ndx_cli.stack.kafka import ensure_kafka

    return ensure_kafka(STATE)
