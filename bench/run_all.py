"""Runs every benchmark in turn; each writes bench/results/<name>.json and prints its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    ["bench_seed.py", "--citizens", "1000000"],
    ["bench_outbox.py", "--events", "100000"],
    ["bench_replay.py", "--events", "100000"],
    ["bench_registry.py", "--citizens", "100000", "--seconds", "10"],
    ["bench_verify.py", "--citizens", "100000", "--seconds", "10"],
    ["bench_gateway.py", "--citizens", "100000", "--seconds", "10", "--workers", "1"],
    ["bench_propagation.py", "--deaths", "1000", "--rate", "20", "--backlog", "100000"],
    ["bench_feed.py", "--events", "20000", "--subscribers", "10"],
]


def main() -> int:
    failed = 0
    for args in BENCHMARKS:
        print(f"\n== {' '.join(args)}", flush=True)
        failed += (
            subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], cwd=HERE).returncode
            != 0
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
