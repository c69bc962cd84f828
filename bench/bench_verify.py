"""BatchVerifyCitizens throughput of one population registry process.

The registry runs as its own process (as deployed) on a seeded database; a client in this
process drives it over mTLS with 1,000-claim requests at a fixed concurrency for a fixed time.
Requests are built and serialised before the clock starts and responses are kept as bytes, so
the client costs the shared cores as little as a Python client can.

Claims look like an eKYC load: full name and date of birth each time, sometimes gender, the
permanent address, the identity card or a date of death; a few name a citizen who is not on
file or a wrong name. Before timing, every distinct request's answer is checked against the
domain's `verify` on whole citizens, so a fast wrong answer cannot pass for a result.

Figures: claims/s, calls/s, p50/p99 per call, the registry's CPU use, and the ratio to the
150,000 claims/s a registry needs for the gateway's 50,000/s through it on two shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import grpc
from common import STATE, cpu_seconds, kafka_bootstrap, percentile, population_env, write_result
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki
from ndx_population.adapters.bulk_load import bulk_load
from ndx_population.adapters.proto_mapping import citizen_from_proto, citizen_to_proto
from ndx_population.adapters.tables import metadata
from ndx_population.domain.model import Citizen
from ndx_population.domain.verification import verify
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.db import Database, create_schema
from ndx_runtime.tls import channel_credentials

PORT = 50181
METHOD = "/ndx.population.v1.PopulationService/BatchVerifyCitizens"
REFERENCE = 150_000  # claims/s one registry should answer (see the module docstring)
VERDICTS = {1: "MATCH", 2: "MISMATCH", 3: "UNKNOWN"}


def claim_for(c: Citizen, rng: random.Random, ids: set[str]) -> pb.VerifyCitizenRequest:
    """One request: what an agency would claim about someone, sometimes wrongly."""
    person = citizen_to_proto(c)
    claims = citizen_pb2.Citizen(full_name=person.full_name)
    claims.date_of_birth.CopyFrom(person.date_of_birth)
    paths = ["full_name", "date_of_birth"]
    if rng.random() < 0.25:
        claims.gender = person.gender
        paths.append("gender")
    if rng.random() < 0.10:
        claims.permanent_address.ward_code = person.permanent_address.ward_code
        paths.append("permanent_address")
    if rng.random() < 0.05 and person.HasField("id_card"):
        claims.id_card.issue_date.CopyFrom(person.id_card.issue_date)
        paths.append("id_card")
    if rng.random() < 0.03:
        claims.date_of_death.CopyFrom(person.date_of_death)
        if not person.HasField("date_of_death"):
            claims.date_of_death.year, claims.date_of_death.month = 2025, 1
            claims.date_of_death.day = 1
        paths.append("date_of_death")
    if rng.random() < 0.05:
        claims.full_name = person.full_name.rsplit(" ", 1)[0] + " Nam"
    citizen_id = c.citizen_id
    if rng.random() < 0.03:
        # Same province, century and year, a serial nobody has.
        while citizen_id in ids:
            citizen_id = citizen_id[:6] + f"{rng.randrange(1_000_000):06d}"
    return pb.VerifyCitizenRequest(
        citizen_id=citizen_id, claims=claims, claim_mask=FieldMask(paths=paths)
    )


def expected(
    request: pb.BatchVerifyCitizensRequest, people: dict[str, Citizen]
) -> list[tuple[int, list[int]]]:
    """The answers the registry must give, from the domain's rules on whole citizens."""
    out = []
    for r in request.requests:
        overall, results = verify(
            people.get(r.citizen_id), citizen_from_proto(r.claims), list(r.claim_mask.paths)
        )
        out.append((int(overall), [int(x) for x in results]))
    return out


def answered(raw: bytes) -> list[tuple[int, list[int]]]:
    response = pb.BatchVerifyCitizensResponse.FromString(raw)
    return [(int(r.overall), [int(c.result) for c in r.results]) for r in response.results]


async def seed(url: str, n: int) -> dict[str, Citizen]:
    people = list(generate_citizens(7, n))
    db = Database.from_url(url)
    await create_schema(db.engine, metadata)
    await bulk_load(db.engine, people)
    await db.dispose()
    return {c.citizen_id: c for c in people}


async def drive(
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes],
    payloads: list[bytes],
    concurrency: int,
    seconds: float,
) -> tuple[int, list[float], Counter[str]]:
    """Calls at `concurrency` for `seconds`; completed calls, their latencies, status codes."""
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds
    turn = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < deadline:
            payload = payloads[next(turn) % len(payloads)]
            started = time.perf_counter()
            try:
                await call(payload, timeout=30)
                codes["OK"] += 1
                latencies.append(time.perf_counter() - started)
            except grpc.aio.AioRpcError as e:
                codes[e.code().name] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies, codes


async def database_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'population.db'}"
    from ndx_cli.stack.postgres import PostgresStack

    stack = PostgresStack(STATE)
    await asyncio.to_thread(stack.start)
    return await asyncio.to_thread(stack.create_database, f"bench_verify_{uuid.uuid4().hex[:8]}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="Claims per request.")
    parser.add_argument(
        "--concurrency", default="4,8", help="Calls in flight; a comma-separated list runs each."
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="Untimed seconds first.")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--name", default="verify", help="Results file name.")
    args = parser.parse_args()

    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    pki = STATE / "pki"
    DevPki(pki).ensure(DEFAULT_IDENTITIES)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        url = await database_url(args.database, Path(tmp))
        people = await seed(url, args.citizens)
        ids = set(people)
        population = list(people.values())
        requests = [
            pb.BatchVerifyCitizensRequest(
                requests=[claim_for(c, rng, ids) for c in rng.sample(population, args.batch)]
            )
            for _ in range(20)
        ]
        payloads = [r.SerializeToString() for r in requests]
        paths = Counter(p for r in requests for q in r.requests for p in q.claim_mask.paths)
        env = population_env(url, PORT, bootstrap, pki)
        server = subprocess.Popen([sys.executable, "-m", "ndx_population"], env=env)
        try:
            creds = channel_credentials(pki / "ca.crt", pki / "gateway.crt", pki / "gateway.key")
            async with grpc.aio.secure_channel(f"127.0.0.1:{PORT}", creds) as channel:
                await asyncio.wait_for(channel.channel_ready(), 60)
                call = channel.unary_unary(METHOD)
                verdicts: Counter[str] = Counter()
                for request, payload in zip(requests, payloads, strict=True):
                    got, want = answered(await call(payload)), expected(request, people)
                    if got != want:
                        raise SystemExit("the registry's answers differ from the domain's rules")
                    verdicts.update(VERDICTS[overall] for overall, _ in got)
                await drive(call, payloads, 4, args.warmup)
                runs = [
                    await measure(call, payloads, int(n), args, server.pid)
                    for n in args.concurrency.split(",")
                ]
        finally:
            server.terminate()
            server.wait(30)

    best = max(run["claims_per_s"] for run in runs)
    write_result(
        args.name,
        {
            "database": args.database,
            "citizens": args.citizens,
            "claims_per_request": args.batch,
            "claims_per_s": best,
            "ratio_to_reference": round(best / REFERENCE, 2),
            "reference_claims_per_s": REFERENCE,
            "runs": runs,
            "claimed_paths": dict(paths.most_common()),
            "overall_verdicts_checked": dict(verdicts),
            "cpus": os.cpu_count(),
            "note": "registry and load generator share the machine's cores",
        },
    )


async def measure(
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes],
    payloads: list[bytes],
    concurrency: int,
    args: argparse.Namespace,
    pid: int,
) -> dict[str, object]:
    """One timed run at `concurrency` calls in flight."""
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    client_before = time.process_time()
    calls, latencies, codes = await drive(call, payloads, concurrency, args.seconds)
    elapsed = time.perf_counter() - started
    registry_cpu = cpu_seconds(pid) - cpu_before
    claims = calls * args.batch
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "claims_per_s": round(claims / elapsed),
        "calls_per_s": round(calls / elapsed, 1),
        "call_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "call_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "ratio_to_reference": round(claims / elapsed / REFERENCE, 2),
        "registry_cpu_cores": round(registry_cpu / elapsed, 2),
        "claims_per_registry_cpu_s": round(claims / registry_cpu) if registry_cpu else None,
        "client_cpu_cores": round((time.process_time() - client_before) / elapsed, 2),
        "status": dict(codes),
    }


if __name__ == "__main__":
    asyncio.run(main())
