"""`make bench`: runs every benchmark in turn (each writes bench/results/<name>.json and prints
its figures), then renders docs/benchmarks.md and its plots from the results."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
POSTGRES = "{postgres}"  # replaced by the local PostgreSQL server's URL
BENCHMARKS = [
    ["bench_seed.py", "--citizens", "100000"],
    ["bench_seed.py", "--citizens", "1000000"],
    ["bench_seed.py", "--citizens", "100000", "--postgres", POSTGRES],
    ["bench_seed.py", "--citizens", "1000000", "--postgres", POSTGRES],
    ["bench_outbox.py", "--events", "100000"],
    ["bench_replay.py", "--events", "100000"],
    ["bench_registry.py", "--citizens", "100000", "--seconds", "10"],
    ["bench_verify.py", "--citizens", "100000", "--seconds", "10"],
    [
        "bench_verify.py",
        "--citizens",
        "100000",
        "--seconds",
        "10",
        "--database",
        "postgres",
        "--name",
        "verify_postgres",
    ],
    ["bench_gateway.py", "--citizens", "100000", "--seconds", "10", "--workers", "1"],
    ["bench_propagation.py", "--deaths", "1000", "--rate", "20", "--backlog", "100000"],
    ["bench_feed.py", "--events", "20000", "--subscribers", "10"],
]


def postgres_url() -> str:
    """The local PostgreSQL server (started when not running), for the seeding runs."""
    sys.path.insert(0, str(HERE))
    from common import STATE

    from ndx_cli.stack.postgres import PostgresStack

    stack = PostgresStack(STATE)
    stack.start()
    return stack.server_url


def main() -> int:
    only = set(sys.argv[1:])
    failed: list[str] = []
    server = postgres_url()
    for args in BENCHMARKS:
        if only and args[0].removeprefix("bench_").removesuffix(".py") not in only:
            continue
        args = [server if a == POSTGRES else a for a in args]
        print(f"\n== {' '.join(args)}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], cwd=HERE).returncode
        print(f"== {args[0]}: exit {code}, {time.perf_counter() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(" ".join(args))
    subprocess.run([sys.executable, str(HERE / "report.py")], cwd=HERE, check=True)
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
