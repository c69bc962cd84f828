"""What the gateway costs: GetCitizen through it and straight to the registry, at the same
concurrency, and BatchVerifyCitizens records/s through it.

The population registry (SQLite, 100,000 seeded citizens) and the gateway run as their own
processes, as deployed: the gateway with GATEWAY_WORKERS processes on one port, the default
policy (quotas raised so that they do not cut the run short), its audit records acknowledged by
Kafka before each answer and indexed for the data tracker by its first worker. ghz drives both
doors over mTLS: the gateway as the tax authority (its answers cut to the granted fields), the
registry as the gateway itself.

1. Maximum load: each door at `--concurrency` calls in flight for `--seconds`; the throughput
   ratio gateway/direct (target >= 0.45).
2. Half of the gateway's maximum, at a fixed rate on both doors: p50/p99 latency, and what the
   gateway adds (target: p99 added <= 2 ms).
3. BatchVerifyCitizens of 1,000 claims (name and date of birth) as a bank doing eKYC,
   verify-only: records/s (target >= 50,000/s), and the same calls straight to the registry.
4. Curves, `--curve-seconds` a point: throughput of both doors at each of `--curve-concurrency`
   calls in flight, and their p50/p99 latency at fixed rates from 10% to 90% of the gateway's
   maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import yaml
from bench_registry import seed
from bench_verify import drive
from common import STATE, cpu_seconds, kafka_bootstrap, percentile, population_env, write_result
from ghz import GHZ_VERSION, ghz_binary, ghz_figures, run_ghz
from google.protobuf.field_mask_pb2 import FieldMask
from ndx_gateway.policy import DEFAULT_POLICY

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki
from ndx_runtime.tls import channel_credentials

REGISTRY_PORT, GATEWAY_PORT = 50191, 50192
SERVICE = "ndx.population.v1.PopulationService"
GET = f"{SERVICE}.GetCitizen"
TAX = {"x-ndx-purpose": "tax-registration", "x-ndx-officer": "bench-officer"}
BANK = {"x-ndx-purpose": "ekyc", "x-ndx-officer": "bench-officer"}
TARGETS = {"throughput_ratio": 0.45, "p99_added_ms": 2.0, "batch_verify_records_per_s": 50_000}


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (the gateway's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found.extend(process_tree(int(child)))
    return found


def bench_policy(directory: Path) -> Path:
    """The default policy with quotas high enough not to refuse the benchmark's calls."""
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    for agency in policy["agencies"].values():
        for purpose in agency["purposes"].values():
            if "quota" in purpose:
                purpose["quota"] = {"requests": 100_000_000, "per_seconds": 1}
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def environment(pki: Path, bootstrap: str, tmp: Path, url: str, workers: int) -> dict[str, str]:
    """The registry's and the gateway's environment (each reads its own prefix)."""
    run = uuid.uuid4().hex[:8]
    return {
        **population_env(url, REGISTRY_PORT, bootstrap, pki),
        "GATEWAY_GRPC_PORT": str(GATEWAY_PORT),
        "GATEWAY_TLS_CERT_FILE": str(pki / "gateway.crt"),
        "GATEWAY_TLS_KEY_FILE": str(pki / "gateway.key"),
        "GATEWAY_TLS_CA_FILE": str(pki / "ca.crt"),
        "GATEWAY_UPSTREAMS": json.dumps({SERVICE: f"127.0.0.1:{REGISTRY_PORT}"}),
        "GATEWAY_POLICY_FILE": str(bench_policy(tmp)),
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'gateway.db'}",
        "GATEWAY_AUDIT_TOPIC": f"bench.{run}.gateway.audit",
        "GATEWAY_TRACKER_CONSUMER_GROUP": f"bench.{run}.tracker",
        "GATEWAY_WORKERS": str(workers),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


async def wait_ready(pki: Path, port: int, identity: str) -> None:
    creds = channel_credentials(pki / "ca.crt", pki / f"{identity}.crt", pki / f"{identity}.key")
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as channel:
        await asyncio.wait_for(channel.channel_ready(), 60)


def batches(people: list[citizen_pb2.Citizen], rng: random.Random) -> list[bytes]:
    """20 requests of 1,000 claims (name and date of birth) about random citizens."""
    mask = FieldMask(paths=["full_name", "date_of_birth"])
    return [
        pb.BatchVerifyCitizensRequest(
            requests=[
                pb.VerifyCitizenRequest(
                    citizen_id=c.citizen_id,
                    claims=citizen_pb2.Citizen(
                        full_name=c.full_name, date_of_birth=c.date_of_birth
                    ),
                    claim_mask=mask,
                )
                for c in rng.sample(people, 1000)
            ]
        ).SerializeToString()
        for _ in range(20)
    ]


class Doors:
    """The two ways to the registry, driven by ghz; CPU of the processes behind each run."""

    def __init__(self, binary: str, pki: Path, registry: int, gateway: int, seconds: float):
        self.binary, self.pki, self.seconds = binary, pki, seconds
        self.registry, self.gateway = registry, gateway

    def direct(self, method: str, data: list[dict[str, object]], c: int, rps: int | None = None):
        return self._run(f"127.0.0.1:{REGISTRY_PORT}", method, data, c, identity="gateway", rps=rps)

    def via_gateway(
        self,
        method: str,
        data: list[dict[str, object]],
        c: int,
        *,
        identity: str,
        metadata: dict[str, str],
        rps: int | None = None,
    ) -> dict[str, Any]:
        return self._run(
            f"127.0.0.1:{GATEWAY_PORT}",
            method,
            data,
            c,
            identity=identity,
            metadata=metadata,
            rps=rps,
        )

    def _run(self, address: str, method: str, data: list[dict[str, object]], c: int, **kw: Any):
        with self.cpu() as figures:
            report = run_ghz(self.binary, self.pki, address, method, data, c, self.seconds, **kw)
            figures.update(ghz_figures(report))
        return figures

    async def verify(
        self, payloads: list[bytes], concurrency: int, *, port: int, identity: str, md: Any
    ) -> dict[str, Any]:
        """BatchVerifyCitizens from a Python client sending ready-made requests (cheaper for
        the shared cores than ghz building 1,000 claims from JSON every call)."""
        pki = self.pki
        creds = channel_credentials(
            pki / "ca.crt", pki / f"{identity}.crt", pki / f"{identity}.key"
        )
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            call = channel.unary_unary(f"/{SERVICE}/BatchVerifyCitizens")

            def with_metadata(payload: bytes, timeout: float) -> Any:
                return call(payload, timeout=timeout, metadata=tuple(md.items()))

            await drive(with_metadata, payloads, concurrency, 2)  # warm
            with self.cpu() as figures:
                calls, latencies, codes = await drive(
                    with_metadata, payloads, concurrency, self.seconds
                )
                figures["calls_per_s"] = round(calls / self.seconds, 1)
                figures["records_per_s"] = round(calls * 1000 / self.seconds)
                figures["p50_ms"] = round(percentile(latencies, 0.5) * 1000, 1)
                figures["p99_ms"] = round(percentile(latencies, 0.99) * 1000, 1)
                figures["status"] = dict(codes)
        return figures

    @contextlib.contextmanager
    def cpu(self) -> Iterator[dict[str, Any]]:
        """Figures of one run, with the CPU cores the registry and the gateway used."""
        figures: dict[str, Any] = {}
        pids = process_tree(self.gateway)
        before = {p: cpu_seconds(p) for p in [self.registry, *pids]}
        started = time.perf_counter()
        yield figures
        elapsed = time.perf_counter() - started
        used = {p: cpu_seconds(p) - b for p, b in before.items()}
        figures["registry_cpu_cores"] = round(used.pop(self.registry) / elapsed, 2)
        figures["gateway_cpu_cores"] = round(sum(used.values()) / elapsed, 2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="Gateway serving processes.")
    parser.add_argument("--curve-seconds", type=float, default=5.0)
    parser.add_argument(
        "--curve-concurrency",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[1, 4, 16, 64],
        help="Calls in flight of the throughput curve, comma-separated.",
    )
    args = parser.parse_args()

    binary = ghz_binary()
    if binary is None:
        raise SystemExit("this benchmark needs ghz (installed with Go on first use)")
    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    pki = STATE / "pki"
    DevPki(pki).ensure(DEFAULT_IDENTITIES)
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'population.db'}"
        people = await seed(url, args.citizens)
        env = environment(pki, bootstrap, Path(tmp), url, args.workers)
        registry = subprocess.Popen([sys.executable, "-m", "ndx_population"], env=env)
        gateway = None
        try:
            await wait_ready(pki, REGISTRY_PORT, "gateway")
            gateway = subprocess.Popen([sys.executable, "-m", "ndx_gateway"], env=env)
            await wait_ready(pki, GATEWAY_PORT, "tax-authority")
            await asyncio.sleep(3)  # every worker up
            doors = Doors(binary, pki, registry.pid, gateway.pid, args.seconds)
            figures = await measure(doors, people, rng, args)
            points = Doors(binary, pki, registry.pid, gateway.pid, args.curve_seconds)
            figures["curves"] = curves(
                points, people, rng, figures["get_citizen_max"]["gateway"]["rps"], args
            )
        finally:
            for process in (gateway, registry):
                if process is not None:
                    process.terminate()
                    process.wait(60)

    write_result(
        "gateway",
        {
            "citizens": args.citizens,
            "seconds": args.seconds,
            "gateway_workers": args.workers,
            "load_generator": f"ghz {GHZ_VERSION}",
            **figures,
            "targets": TARGETS,
            "note": (
                "registry, gateway, Kafka and load generator share the machine's "
                f"{os.cpu_count()} cores; quotas raised for the run"
            ),
        },
    )


async def measure(
    doors: Doors, people: list[citizen_pb2.Citizen], rng: random.Random, args: argparse.Namespace
) -> dict[str, Any]:
    ids = [{"citizen_id": p.citizen_id} for p in rng.sample(people, 2000)]
    c = args.concurrency
    tax = {"identity": "tax-authority", "metadata": TAX}
    # Warm both doors (connections, caches, the audit producer) before measuring.
    doors.direct(GET, ids, c)
    doors.via_gateway(GET, ids, c, **tax)

    direct_max = doors.direct(GET, ids, c)
    gateway_max = doors.via_gateway(GET, ids, c, **tax)
    half = max(1, gateway_max["rps"] // 2)
    direct_half = doors.direct(GET, ids, c, rps=half)
    gateway_half = doors.via_gateway(GET, ids, c, rps=half, **tax)

    claims = batches(people, rng)
    verify_direct = await doors.verify(claims, 4, port=REGISTRY_PORT, identity="gateway", md={})
    verify_gateway = await doors.verify(claims, 4, port=GATEWAY_PORT, identity="bank-ekyc", md=BANK)
    ratio = round(gateway_max["rps"] / direct_max["rps"], 2)
    p99_added = round(gateway_half["p99_ms"] - direct_half["p99_ms"], 2)
    records = verify_gateway["records_per_s"]
    return {
        "concurrency": c,
        "get_citizen_max": {"direct": direct_max, "gateway": gateway_max},
        "throughput_ratio": ratio,
        "get_citizen_half_load": {"rps": half, "direct": direct_half, "gateway": gateway_half},
        "p50_added_ms": round(gateway_half["p50_ms"] - direct_half["p50_ms"], 2),
        "p99_added_ms": p99_added,
        "batch_verify": {
            "claims_per_call": 1000,
            "direct": verify_direct,
            "gateway": verify_gateway,
        },
        "batch_verify_records_per_s": records,
        "batch_verify_ratio": round(records / max(1, verify_direct["records_per_s"]), 2),
        "met": {
            "throughput_ratio": ratio >= TARGETS["throughput_ratio"],
            "p99_added_ms": p99_added <= TARGETS["p99_added_ms"],
            "batch_verify_records_per_s": records >= TARGETS["batch_verify_records_per_s"],
        },
    }


def curves(
    doors: Doors,
    people: list[citizen_pb2.Citizen],
    rng: random.Random,
    gateway_max_rps: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Throughput by calls in flight, and latency by offered rate, of both doors."""
    ids = [{"citizen_id": p.citizen_id} for p in rng.sample(people, 2000)]
    tax = {"identity": "tax-authority", "metadata": TAX}
    by_concurrency = [
        {
            "concurrency": c,
            "direct": doors.direct(GET, ids, c),
            "gateway": doors.via_gateway(GET, ids, c, **tax),
        }
        for c in args.curve_concurrency
    ]
    by_rate = []
    for fraction in CURVE_RATES:
        rps = max(1, round(gateway_max_rps * fraction))
        by_rate.append(
            {
                "rps": rps,
                "fraction_of_gateway_max": fraction,
                "direct": doors.direct(GET, ids, args.concurrency, rps=rps),
                "gateway": doors.via_gateway(GET, ids, args.concurrency, rps=rps, **tax),
            }
        )
    return {
        "seconds_per_point": doors.seconds,
        "by_concurrency": by_concurrency,
        "by_rate": by_rate,
    }


CURVE_RATES = (0.1, 0.25, 0.5, 0.75, 0.9)


if __name__ == "__main__":
    asyncio.run(main())
