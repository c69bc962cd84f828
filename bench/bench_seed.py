"""Seeding citizens into a fresh registry database (target: 1,000,000 into SQLite in under 60 s).

Prints figures and ratios, never fails on a timing. Phases:
- generation only: `generate_citizens` in this process, nothing kept;
- load: a fresh SQLite file (or a fresh PostgreSQL database with --postgres), rows generated in a
  child process while this one inserts, secondary indexes built at the end (what `ndx seed` does).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import peak_rss_mb, write_result
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ndx_population.adapters.bulk_load import create_schema, load_rows
from ndx_population.adapters.tables import citizens
from ndx_population.seed.generator import generate_citizens
from ndx_population.seed.parallel import rows_from_child
from ndx_runtime.db import Database

TARGET_S = 60.0


def generation_only(seed: int, count: int) -> float:
    started = time.perf_counter()
    for _ in generate_citizens(seed, count):
        pass
    return time.perf_counter() - started


async def load(url: str, seed: int, count: int) -> tuple[float, int, float | None]:
    """Seconds to seed `count` citizens into the empty database at `url`; rows read back, MB."""
    db = Database.from_url(url)
    try:
        await create_schema(db.engine)
        started = time.perf_counter()
        await load_rows(db.engine, rows_from_child(seed, count, db.engine.dialect.name))
        seconds = time.perf_counter() - started
        async with db.engine.connect() as conn:
            stored = (await conn.execute(select(func.count()).select_from(citizens))).scalar_one()
            size = None
            if db.engine.dialect.name == "postgresql":
                query = text("SELECT pg_database_size(current_database())")
                size = int((await conn.execute(query)).scalar_one()) / 1e6
        return seconds, int(stored), size
    finally:
        await db.dispose()


async def on_server(server_url: str, sql: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="postgresql+asyncpg:// URL of a server; the load goes to a new database on it",
    )
    args = parser.parse_args()
    n = args.citizens

    generation_s = generation_only(args.seed, n)
    figures: dict[str, Any] = {
        "citizens": n,
        "generation_only_s": round(generation_s, 2),
        "generation_per_s": round(n / generation_s),
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            name = f"bench_seed_{uuid.uuid4().hex[:10]}"
            await on_server(args.postgres, f'CREATE DATABASE "{name}"')
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            database = "postgresql (COPY), indexes built after the load"
            try:
                load_s, stored, size_mb = await load(url, args.seed, n)
            finally:
                await on_server(args.postgres, f'DROP DATABASE "{name}"')
        else:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'population.db'}"
            database = "sqlite (WAL), indexes built after the load"
            load_s, stored, _ = await load(url, args.seed, n)
            size_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    on_target = n == 1_000_000 and not args.postgres
    figures |= {
        "seed_total_s": round(load_s, 2),
        "seed_rows_per_s": round(n / load_s),
        "rows_read_back": stored,
        "target_s": TARGET_S if on_target else None,
        "ratio_to_target": round(load_s / TARGET_S, 3) if on_target else None,
        "database": database,
        "method": "rows generated in a child process, inserted by executemany / COPY",
        "database_mb": round(size_mb) if size_mb is not None else None,
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_rss_generator_child_mb": round(children),
    }
    suffix = "_postgres" if args.postgres else ""
    write_result(f"seed_{n}{suffix}", figures)


if __name__ == "__main__":
    asyncio.run(main())
