"""GetCitizen and BatchVerifyCitizens throughput directly against the population registry.

The registry runs as its own process (as deployed) on a seeded SQLite database; a client
process drives it over mTLS at a fixed concurrency for a fixed time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from common import STATE, kafka_bootstrap, percentile, population_env, write_result
from ghz import GHZ_VERSION, ghz_binary, ghz_figures, run_ghz
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx.population.v1.population_service_pb2_grpc import PopulationServiceStub
from ndx_cli.stack.certs import DEFAULT_IDENTITIES, DevPki
from ndx_population.adapters.bulk_load import bulk_load
from ndx_population.adapters.tables import metadata
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.db import Database, create_schema
from ndx_runtime.tls import channel_credentials

PORT = 50161


async def seed(url: str, n: int) -> list[citizen_pb2.Citizen]:
    db = Database.from_url(url)
    await create_schema(db.engine, metadata)
    await bulk_load(db.engine, generate_citizens(7, n))
    await db.dispose()
    sample = []
    for c in generate_citizens(7, n):
        claims = citizen_pb2.Citizen(citizen_id=c.citizen_id, full_name=c.full_name)
        d = c.date_of_birth
        claims.date_of_birth.year, claims.date_of_birth.month, claims.date_of_birth.day = (
            d.year,
            d.month,
            d.day,
        )
        sample.append(claims)
    return sample


async def drive(
    stub: PopulationServiceStub, make_call, concurrency: int, seconds: float
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await make_call()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    pki = STATE / "pki"
    DevPki(pki).ensure(DEFAULT_IDENTITIES)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'population.db'}"
        people = await seed(url, args.citizens)
        env = population_env(url, PORT, bootstrap, pki)
        server = subprocess.Popen([sys.executable, "-m", "ndx_population"], env=env)
        try:
            creds = channel_credentials(pki / "ca.crt", pki / "gateway.crt", pki / "gateway.key")
            async with grpc.aio.secure_channel(f"127.0.0.1:{PORT}", creds) as channel:
                await asyncio.wait_for(channel.channel_ready(), 60)
                stub = PopulationServiceStub(channel)
                figures = await measure(stub, people, pki, args)
        finally:
            server.terminate()
            server.wait(30)

    write_result(
        "registry_direct",
        {
            "citizens": args.citizens,
            "seconds": args.seconds,
            **figures,
            "note": "registry (SQLite) and load generator share the machine's 2 cores",
        },
    )


async def measure(
    stub: PopulationServiceStub,
    people: list[citizen_pb2.Citizen],
    pki: Path,
    args: argparse.Namespace,
) -> dict[str, object]:
    rng = random.Random(1)
    ids = [p.citizen_id for p in people]
    batches = []
    for _ in range(20):
        chosen = rng.sample(people, 1000)
        batches.append(
            {
                "requests": [
                    {
                        "citizen_id": c.citizen_id,
                        "claims": {
                            "full_name": c.full_name,
                            "date_of_birth": {
                                "year": c.date_of_birth.year,
                                "month": c.date_of_birth.month,
                                "day": c.date_of_birth.day,
                            },
                        },
                        "claim_mask": {"paths": ["full_name", "date_of_birth"]},
                    }
                    for c in chosen
                ]
            }
        )
    binary = ghz_binary()
    if binary is not None:
        get = ghz_figures(
            run_ghz(
                binary,
                pki,
                f"127.0.0.1:{PORT}",
                "ndx.population.v1.PopulationService.GetCitizen",
                [{"citizen_id": i} for i in rng.sample(ids, 2000)],
                args.concurrency,
                args.seconds,
            )
        )
        verify = ghz_figures(
            run_ghz(
                binary,
                pki,
                f"127.0.0.1:{PORT}",
                "ndx.population.v1.PopulationService.BatchVerifyCitizens",
                batches,
                4,
                args.seconds,
            )
        )
        return {
            "load_generator": f"ghz {GHZ_VERSION}",
            "concurrency": args.concurrency,
            "get_citizen_per_s": get["rps"],
            "get_citizen_p50_ms": get["p50_ms"],
            "get_citizen_p99_ms": get["p99_ms"],
            "get_citizen_status": get["status"],
            "batch_verify_calls_per_s": verify["rps"],
            "batch_verify_records_per_s": round(float(verify["rps"]) * 1000),  # type: ignore[arg-type]
            "batch_verify_p50_ms": verify["p50_ms"],
            "batch_verify_status": verify["status"],
        }
    # Without Go: a Python client, which saturates before the registry does.
    mask = FieldMask(paths=["full_name", "date_of_birth"])

    async def get() -> None:
        await stub.GetCitizen(pb.GetCitizenRequest(citizen_id=rng.choice(ids)))

    async def batch_verify() -> None:
        chosen = rng.sample(people, 1000)
        await stub.BatchVerifyCitizens(
            pb.BatchVerifyCitizensRequest(
                requests=[
                    pb.VerifyCitizenRequest(citizen_id=c.citizen_id, claims=c, claim_mask=mask)
                    for c in chosen
                ]
            )
        )

    n_get, lat_get = await drive(stub, get, args.concurrency, args.seconds)
    n_bv, lat_bv = await drive(stub, batch_verify, 4, args.seconds)
    return {
        "load_generator": "python grpc.aio client (ghz unavailable)",
        "concurrency": args.concurrency,
        "get_citizen_per_s": round(n_get / args.seconds),
        "get_citizen_p50_ms": round(percentile(lat_get, 0.5) * 1000, 2),
        "get_citizen_p99_ms": round(percentile(lat_get, 0.99) * 1000, 2),
        "batch_verify_records_per_s": round(n_bv * 1000 / args.seconds),
        "batch_verify_p50_ms": round(percentile(lat_bv, 0.5) * 1000, 1),
    }


if __name__ == "__main__":
    asyncio.run(main())
