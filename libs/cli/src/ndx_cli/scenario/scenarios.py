"""The built-in scenarios and how one runs: load the starting data, plan, send, summarise."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from ndx_runtime.clock import Clock

from .business import Business, people_of
from .land import Land, holders_of
from .life import Life
from .runner import Key, Progress, Runner
from .starting import load_citizens, load_enterprises, load_parcels
from .steps import Planner, Step, choose
from .summary import ScenarioSummary
from .targets import Targets

# Each scenario and the registries it writes, with their shares of the events.
SCENARIOS: dict[str, tuple[tuple[str, float], ...]] = {
    "life": (("population", 1.0),),
    "land": (("land", 1.0),),
    "business": (("business", 1.0),),
    # Population events dominate the exchange's traffic; land and business changes follow.
    "mixed": (("population", 60.0), ("land", 25.0), ("business", 15.0)),
}
# How many entities of each registry a scenario loads at most (enterprises: of each status).
CAPS = {"population": 4_000, "land": 2_000, "business": 2_000}


def _fingerprint(versions: dict[Key, int]) -> str:
    """A digest of the entities loaded and their versions."""
    digest = hashlib.sha256()
    for (registry, key), version in sorted(versions.items()):
        digest.update(f"{registry}/{key}/{version}\n".encode())
    return digest.hexdigest()[:16]


async def _nothing() -> list[Any]:
    return []


def registries(name: str) -> list[str]:
    """The registries scenario `name` writes to."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    return [registry for registry, _ in SCENARIOS[name]]


def _plan(
    rng: random.Random,
    planners: dict[str, Planner],
    shares: tuple[tuple[str, float], ...],
    count: int,
) -> Iterator[Step]:
    """Events until `count` calls are planned, or no registry has an event left to plan."""
    left = count
    open_ = [(r, w) for r, w in shares]
    while left > 0 and open_:
        registry = choose(rng, open_)
        step = planners[registry].plan(left)
        if step is None:
            open_ = [(r, w) for r, w in open_ if r != registry]
            continue
        left -= len(step.calls)
        yield step


async def run_scenario(
    name: str,
    *,
    seed: int,
    count: int,
    targets: Targets,
    concurrency: int = 8,
    today: date | None = None,
    progress: Progress | None = None,
    caps: Mapping[str, int] | None = None,
) -> ScenarioSummary:
    """Runs scenario `name`: about `count` write calls (exactly, unless the starting data runs
    out of candidates), planned from `seed` and the data the registries hold now, so the same
    seed on the same data sends the same requests. Dates are `today` (Vietnam's date); `caps`
    bounds the entities loaded per registry (default CAPS)."""
    wanted = registries(name)
    if count < 0 or concurrency < 1:
        raise ValueError("count must be 0 or more and concurrency 1 or more")
    today = today or Clock().today()
    cap = {**CAPS, **(caps or {})}
    summary = ScenarioSummary(name, seed)
    started = time.perf_counter()
    window = concurrency * 4
    # The registries are read at the same time.
    parcels, enterprises, people = await asyncio.gather(
        load_parcels(targets.door("land"), cap["land"], window) if "land" in wanted else _nothing(),
        load_enterprises(targets.door("business"), cap["business"])
        if "business" in wanted
        else _nothing(),
        load_citizens(targets.door("population"), cap["population"], window)
        if "population" in wanted
        else _nothing(),
    )
    versions: dict[Key, int] = {}
    versions.update((("land", p.parcel_id), p.version) for p in parcels)
    versions.update((("business", e.enterprise_code), e.version) for e in enterprises)
    versions.update((("population", c.citizen_id), c.version) for c in people)
    # Land and business hold their own copies of names and deaths, which their consumers
    # bring up to date; citizens named on the records this run writes there keep theirs, so
    # those records change only through this run's own calls.
    protected = holders_of(parcels) | people_of(enterprises)
    # Plans follow the seed and the data: a second run on the data the first one changed draws
    # other citizen ids, tax codes and household numbers than the first, which are now taken.
    basis = f"{seed}:{_fingerprint(versions)}"
    planners: dict[str, Planner] = {
        "land": Land(parcels, basis, today),
        "business": Business(enterprises, basis, today),
        "population": Life(people, basis, today, protected),
    }
    counts = {
        "population": ("citizens", len(people)),
        "land": ("parcels", len(parcels)),
        "business": ("enterprises", len(enterprises)),
    }
    summary.loaded = dict(counts[r] for r in wanted)
    summary.load_seconds = time.perf_counter() - started
    runner = Runner(targets, versions, summary, concurrency, progress)
    rng = random.Random(f"{name}:{basis}")
    await runner.run(_plan(rng, planners, SCENARIOS[name], count))
    return summary
