"""`make soak`: mixed traffic through the gateway at a fixed rate for ten minutes, on the whole
system run as `ndx up` runs it (the broker, three registries and the gateway, each its own
process), and what it did to them.

Agencies look citizens, parcels and enterprises up, banks verify identities (one and ten at a
time), the police rename citizens (which the land and business registries mirror), and four
long-lived feeds follow the changes, all with their own certificates, sent open-loop at
`--rate` calls a second (see soak_traffic). It reports:
- calls and errors by kind (the error rate must be 0);
- the resident memory of every process after the warm-up and at the end of the load, the
  most seen, and the trend in between;
- the lag of the consumer groups, the most seen and once drained (must be 0);
- the books: every rename accepted is published once, applied once by land and by business,
  and delivered once by each feed; lost and duplicated must be 0.

Exits 1 when any call failed, anything was lost or duplicated, or the system did not drain.
The figures go to `--output` (default `$NDX_RELIABILITY_RESULTS/soak.json`, else
bench/results/reliability/soak.json), in the shape of tests/faults/figures.py's records.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import percentile
from soak_accounts import Line, applied, by_feed, gather_published, on_topic, topic_size
from soak_system import ROOT, System
from soak_traffic import Traffic
from soak_watch import Watch, metric, scrape

RESULTS_VARIABLE = "NDX_RELIABILITY_RESULTS"
BROKEN = "nothing: steady mixed traffic through the gateway, at a fixed rate"
CHECKED = (
    "no call fails; every rename accepted is published once, applied once by the land and "
    "business registries and delivered once by each feed following it (and each parcel and "
    "enterprise change by its feed); the consumer groups drain to lag 0; the memory of each "
    "process after the warm-up and at the end of the load"
)


def default_output() -> Path:
    folder = os.environ.get(RESULTS_VARIABLE)
    base = Path(folder) if folder else ROOT / "bench" / "results" / "reliability"
    return base / "soak.json"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long the load runs.")
    parser.add_argument("--rate", type=float, default=40.0, help="Calls a second.")
    parser.add_argument(
        "--max-requests", type=int, default=None, help="Stop after this many calls (default: "
        "rate x duration)."
    )  # fmt: skip
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=None,
        help="Load before the starting memory is taken (default: 10%% of the run, at most 60).",
    )
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--citizens", type=int, default=20_000, help="Citizens seeded.")
    parser.add_argument("--parcels", type=int, default=8_000)
    parser.add_argument("--enterprises", type=int, default=3_000)
    parser.add_argument(
        "--home", type=Path, default=ROOT / ".ndx" / "soak", help="The soak's state (emptied)."
    )
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


async def consumed(system: System) -> dict[str, dict[str, float]]:
    """Each mirroring registry's counts of citizen records by outcome, as it exports them."""
    topic = system.topics["citizen"]
    out = {}
    for route in ("land", "business"):
        group = f"{system.prefix}.{route}"
        samples = await asyncio.to_thread(scrape, system.metrics[route])
        out[route] = {
            outcome: metric(
                samples, "ndx_events_consumed_total", topic=topic, group=group, outcome=outcome
            )
            for outcome in ("handled", "skipped", "dead_lettered")
        }
    return out


async def backlog(system: System) -> float:
    """Outbox rows not yet published, over the three registries."""
    total = 0.0
    for route in ("population", "land", "business"):
        samples = await asyncio.to_thread(scrape, system.metrics[route])
        total += metric(samples, "ndx_outbox_backlog_events")
    return total


async def drain(system: System, traffic: Traffic, watch: Watch, timeout: float) -> float | None:
    """Waits until the outboxes are empty, land and business have caught up and every feed
    delivered what its topic holds, and the gateway's audit index has caught up; the seconds
    it took, or None when `timeout` passed."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if any(f.error for f in traffic.feeds):
            return None  # a feed that ended delivers no more
        lag = await watch.lag()
        sizes = {a: await topic_size(system.bootstrap, t) for a, t in system.topics.items()}
        fed = all(len(f.delivered) >= sizes[f.spec.aggregate] for f in traffic.feeds)
        if fed and not any(lag.values()) and not await backlog(system):
            return time.monotonic() - started
        await asyncio.sleep(1)
    return None


async def soak(
    args: argparse.Namespace, system: System
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs the load and the drain; the figures, and the memory and lag samples."""
    seconds = args.minutes * 60
    warmup = args.warmup_seconds
    if warmup is None:
        warmup = min(60.0, seconds / 10)
    max_requests = args.max_requests or int(args.rate * seconds) + 1
    traffic = Traffic(system.gateway, system.pki)
    try:
        print(f"» reading the starting data through the gateway ({system.gateway})", flush=True)
        starting = await traffic.prepare(args.citizens)
        print(
            f"  {len(starting.citizens):,} citizens ({len(starting.writable):,} to rename), "
            f"{len(starting.parcels):,} parcels, {len(starting.enterprises):,} enterprises",
            flush=True,
        )
        await traffic.open_feeds()
        # The heap of the soak's own broker (another's is only looked at from outside).
        jvms = ["kafka"] if system.broker is not None else []
        watch = Watch(system.bootstrap, system.processes(), system.groups(), jvms)
        print(
            f"» {args.rate:g} calls/s for {seconds:.0f} s (at most {max_requests:,} calls), "
            f"memory taken after {warmup:.0f} s; processes: "
            + ", ".join(f"{n} {p}" for n, p in watch.processes.items()),
            flush=True,
        )
        watch.started = time.monotonic()
        load = asyncio.create_task(traffic.run(args.rate, seconds, max_requests))
        await asyncio.wait({load}, timeout=warmup)
        await watch.sample("start")
        stop = asyncio.Event()
        sampler = asyncio.create_task(watch.every(args.sample_seconds, "load", stop))
        try:
            await load
        finally:
            stop.set()
            await sampler
        load_seconds = time.monotonic() - watch.started
        await watch.sample("end")
        print(f"» load done: {traffic.sent:,} calls in {load_seconds:.0f} s; draining", flush=True)
        drained = await drain(system, traffic, watch, args.drain_seconds)
        await watch.sample("drained")
        figures = await account(system, traffic, watch, load_seconds, drained, args)
        return figures, [s.as_dict() for s in watch.samples]
    finally:
        await traffic.close()


async def account(
    system: System,
    traffic: Traffic,
    watch: Watch,
    load_seconds: float,
    drained: float | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    events = await gather_published(system.bootstrap, system.topics)
    written = traffic.written
    counts = await consumed(system)
    books: dict[str, Line] = {"population topic": on_topic(written, events["citizen"])}
    for route in ("land", "business"):
        books[f"{route} registry (applied)"] = await applied(
            system.database_url(route), written, counts[route]["handled"]
        )
    for feed in traffic.feeds:
        books[feed.spec.name] = by_feed(feed, events[feed.spec.aggregate])
    kinds = {
        kind: {
            "requests": t.requests,
            "errors": t.errors,
            "p50_ms": round(percentile(t.latencies_ms, 0.5), 1) if t.latencies_ms else None,
            "p99_ms": round(percentile(t.latencies_ms, 0.99), 1) if t.latencies_ms else None,
        }
        for kind, t in traffic.tallies.items()
    }
    feed_errors = [f"{f.spec.name}: {f.error}" for f in traffic.feeds if f.error]
    requests = sum(t.requests for t in traffic.tallies.values())
    errors = sum(t.errors for t in traffic.tallies.values()) + len(feed_errors)
    failures = [
        f"{kind} x{n}: {text}"
        for kind, t in traffic.tallies.items()
        for text, n in t.failures.most_common(5)
    ] + feed_errors
    return {
        "minutes": round(load_seconds / 60, 2),
        "rate_per_s": args.rate,
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "achieved_per_s": round(requests / load_seconds, 1),
        "max_in_flight": traffic.max_in_flight,
        "max_behind_schedule_ms": round(traffic.max_behind_s * 1000, 1),
        "feeds": len(traffic.feeds),
        "events_written": len(written),
        "events_published": len(events["citizen"]),
        "parcel_events_published": len(events["parcel"]),
        "enterprise_events_published": len(events["enterprise"]),
        # Over every line of the books: the topic, the two mirrors and the four feeds.
        "events_delivered": sum(line.delivered for line in books.values()),
        "lost": sum(line.lost for line in books.values()),
        "duplicated": sum(line.duplicated for line in books.values()),
        "redelivered_and_skipped": int(sum(c["skipped"] for c in counts.values())),
        "dead_lettered": int(sum(c["dead_lettered"] for c in counts.values())),
        "drained": drained is not None,
        "drain_seconds": round(drained, 1) if drained is not None else None,
        "requests_by_kind": kinds,
        "rss_mb": watch.memory(),
        "consumer_lag": watch.lags(),
        "events": {name: line.as_dict() for name, line in books.items()},
        **({"failures": failures[:20]} if failures else {}),
    }


def document(figures: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures as tests/faults/figures.py's `record` writes them (the reliability report
    reads them so), with the memory and lag samples beside them."""
    return {
        "scenario": "soak",
        "broken": BROKEN,
        "checked": CHECKED,
        "figures": figures,
        "scale": 1,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "samples": samples,
    }


def summary(figures: dict[str, Any]) -> list[str]:
    f = figures
    lines = [
        f"calls: {f['requests']:,} in {f['minutes']} min ({f['achieved_per_s']}/s, asked "
        f"{f['rate_per_s']:g}/s), errors {f['errors']}, at most {f['max_in_flight']} in flight, "
        f"at most {f['max_behind_schedule_ms']} ms behind schedule",
    ]
    for kind, k in f["requests_by_kind"].items():
        lines.append(
            f"  {kind:<24} {k['requests']:>7,} calls, {k['errors']} errors, "
            f"p50 {k['p50_ms']} ms, p99 {k['p99_ms']} ms"
        )
    lines.append("memory (RSS, MB): start -> end (max; growth; trend per minute)")
    for name, m in f["rss_mb"].items():
        lines.append(
            f"  {name:<20} {m['start_mb']:>8} -> {m['end_mb']:<8} (max {m['max_mb']}; "
            f"{m['growth_mb']:+} MB, {m['growth_pct']:+}%; {m['trend_mb_per_min']:+} MB/min)"
            + f"; anonymous {m['anon_start_mb']} -> {m['anon_end_mb']}, "
            f"{m['anon_trend_mb_per_min']:+} MB/min"
            + (
                f"; JVM heap committed {m['heap_start_mb']} -> {m['heap_end_mb']}"
                if "heap_start_mb" in m
                else ""
            )
        )
    lines.append("consumer lag: most seen / once drained")
    for name, lag in f["consumer_lag"].items():
        lines.append(f"  {name:<20} {lag['max']:>6} / {lag['end']}")
    drained = f"in {f['drain_seconds']} s" if f["drained"] else "NOT drained"
    lines.append(
        f"events: {f['events_written']:,} renames accepted, {f['events_published']:,} citizen "
        f"events published, {f['parcel_events_published']:,} parcel and "
        f"{f['enterprise_events_published']:,} enterprise events; {drained}"
    )
    for name, line in f["events"].items():
        lines.append(
            f"  {name:<52} expected {line['expected']:>6,}, delivered {line['delivered']:>6,}, "
            f"lost {line['lost']}, duplicated {line['duplicated']}"
        )
    lines.append(
        f"lost {f['lost']}, duplicated {f['duplicated']}, redelivered and skipped "
        f"{f['redelivered_and_skipped']}, dead-lettered {f['dead_lettered']}"
    )
    lines.extend(f"failure: {line}" for line in f.get("failures", ()))
    return lines


def passed(figures: dict[str, Any]) -> bool:
    return (
        figures["errors"] == 0
        and figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["dead_lettered"] == 0
        and figures["drained"]
        and all(lag["end"] == 0 for lag in figures["consumer_lag"].values())
    )


def interrupted(signum: int, frame: object) -> None:
    """SIGTERM ends the soak as Ctrl-C does: the system it started is stopped."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, interrupted)
    args = parse(argv)
    output = args.output or default_output()
    shutil.rmtree(args.home, ignore_errors=True)
    system = System(args.home.resolve(), args.citizens, args.parcels, args.enterprises)
    print(f"» starting the system under {system.home} (topics {system.prefix}.*)", flush=True)
    try:
        system.start()
        figures, samples = asyncio.run(soak(args, system))
    finally:
        print("» stopping the system", flush=True)
        system.stop()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document(figures, samples), indent=2, ensure_ascii=False) + "\n")
    print("\n".join(summary(figures)))
    print(f"wrote {output}")
    ok = passed(figures)
    if not ok:
        print("soak FAILED: errors, lost or duplicated events, or no drain", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
