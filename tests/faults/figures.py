"""What a fault scenario measured, kept for docs/reliability.md.

Each scenario calls `record(...)` once it has checked its outcome. The figures are written to
`$NDX_RELIABILITY_RESULTS/<scenario>.json` when that variable is set (`make chaos` and
`make soak` set it to `bench/results/reliability`), and `bench/reliability_report.py` renders
the report from those files. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = "NDX_RELIABILITY_RESULTS"
SCALE = "NDX_CHAOS_SCALE"


def scale() -> int:
    """How much longer than in the test suite a scenario runs: 1 by default, 10 under
    `make chaos` (10,000 writes instead of 1,000, more kills)."""
    return max(1, int(os.environ.get(SCALE, "1")))


def record(scenario: str, *, broken: str, checked: str, **figures: Any) -> Path | None:
    """Writes one scenario's figures; returns the file written, if any."""
    folder = os.environ.get(RESULTS)
    if not folder:
        return None
    path = Path(folder) / f"{scenario}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "scenario": scenario,
        "broken": broken,
        "checked": checked,
        "figures": figures,
        "scale": scale(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


@contextmanager
def cases(scenario: str, *, broken: str, checked: str) -> Iterator[dict[str, str]]:
    """Collects the cases of a scenario spread over several tests (a module-scoped fixture
    holds it open): each passing test adds `cases[name] = outcome`; the figures are recorded
    when the module ends. Only passing tests add a case, so a failure shows as a missing one."""
    seen: dict[str, str] = {}
    yield seen
    record(
        scenario,
        broken=broken,
        checked=checked,
        cases=len(seen),
        outcomes={name: {"outcome": outcome} for name, outcome in seen.items()},
    )
