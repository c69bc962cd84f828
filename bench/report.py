"""Renders docs/benchmarks.md and its plots (docs/benchmarks/*.png) from bench/results/*.json.

`make bench` runs it after the benchmarks; `make bench-report` runs it alone. Every figure
states the machine and versions it was measured on and its ratio to the baseline measured in
the same run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from common import RESULTS, ROOT
from matplotlib.axes import Axes
from matplotlib.ticker import ScalarFormatter

DOCS = ROOT / "docs"
PLOTS = DOCS / "benchmarks"
Result = dict[str, Any]


def load(name: str) -> Result | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_line(result: Result) -> str:
    """One line naming the machine and versions a result was measured on."""
    m = result["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    return (
        f"{m['cpus']} CPUs, {m['platform']}, Python {m['python']}; {versions}; {m['kafka']}; "
        f"run {result['time'][:16].replace('T', ' ')} UTC"
    )


@contextmanager
def figure(name: str, title: str, result: Result, ratio: str) -> Iterator[Axes]:
    """A plot saved as docs/benchmarks/<name>.png, its footer naming machine, versions, ratio."""
    fig, ax = plt.subplots(figsize=(8, 4.6))
    yield ax
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    footer = f"{ratio}\n{machine_line(result)}"
    fig.text(0.01, 0.01, footer, fontsize=6.5, color="#444", wrap=True)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    PLOTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOTS / f"{name}.png", dpi=110)
    plt.close(fig)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def n(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def gateway_section() -> str | None:
    g = load("gateway")
    if g is None:
        return None
    ratio = f"gateway/direct throughput at {g['concurrency']} in flight: {g['throughput_ratio']}"
    out = ["## Gateway vs direct (GetCitizen, mTLS, tax authority's field cut)", ""]
    curves = g.get("curves")
    if curves:
        points = curves["by_concurrency"]
        with figure(
            "gateway_throughput", "GetCitizen throughput by calls in flight", g, ratio
        ) as ax:
            xs = [p["concurrency"] for p in points]
            for door, style in (("direct", "o-"), ("gateway", "s-")):
                ax.plot(xs, [p[door]["rps"] for p in points], style, label=door)
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(x) for x in xs])
            ax.set_xlabel("calls in flight")
            ax.set_ylabel("calls/s")
            ax.legend()
        rates = curves["by_rate"]
        added = g["p99_added_ms"]
        with figure(
            "gateway_latency",
            "GetCitizen latency by offered rate",
            g,
            f"{ratio}; p99 added at half the gateway's maximum: {added} ms",
        ) as ax:
            xs = [p["rps"] for p in rates]
            for door, color in (("direct", "tab:blue"), ("gateway", "tab:orange")):
                ax.plot(
                    xs, [p[door]["p50_ms"] for p in rates], "o-", color=color, label=f"{door} p50"
                )
                ax.plot(
                    xs, [p[door]["p99_ms"] for p in rates], "o--", color=color, label=f"{door} p99"
                )
            ax.set_xlabel("offered calls/s")
            ax.set_ylabel("latency (ms)")
            ax.legend()
        out += [
            "![throughput](benchmarks/gateway_throughput.png)",
            "",
            "![latency](benchmarks/gateway_latency.png)",
            "",
            table(
                ["calls in flight", "direct calls/s", "gateway calls/s", "ratio"],
                [
                    [
                        p["concurrency"],
                        n(p["direct"]["rps"]),
                        n(p["gateway"]["rps"]),
                        round(p["gateway"]["rps"] / max(1, p["direct"]["rps"]), 2),
                    ]
                    for p in points
                ],
            ),
            "",
            table(
                ["offered calls/s", "direct p50 / p99 ms", "gateway p50 / p99 ms"],
                [
                    [
                        p["rps"],
                        f"{p['direct']['p50_ms']} / {p['direct']['p99_ms']}",
                        f"{p['gateway']['p50_ms']} / {p['gateway']['p99_ms']}",
                    ]
                    for p in rates
                ],
            ),
            "",
        ]
    half = g["get_citizen_half_load"]
    verify = g["batch_verify"]
    out += [
        f"- Maximum at {g['concurrency']} in flight: direct "
        f"{n(g['get_citizen_max']['direct']['rps'])} calls/s, gateway "
        f"{n(g['get_citizen_max']['gateway']['rps'])} calls/s (ratio **{g['throughput_ratio']}**, "
        f"target ≥ {g['targets']['throughput_ratio']}).",
        f"- At {half['rps']} calls/s on both doors: p99 direct {half['direct']['p99_ms']} ms, "
        f"gateway {half['gateway']['p99_ms']} ms (added **{g['p99_added_ms']} ms**, target ≤ "
        f"{g['targets']['p99_added_ms']} ms).",
        f"- BatchVerifyCitizens, 1,000 claims a call: direct "
        f"{n(verify['direct']['records_per_s'])} claims/s, gateway "
        f"{n(verify['gateway']['records_per_s'])} claims/s (ratio {g['batch_verify_ratio']}).",
        f"- {g['note']}.",
        "",
    ]
    return "\n".join(out)


def events_section() -> str | None:
    outbox, replay, feed = load("outbox_relay"), load("replay"), load("feed")
    if outbox is None and replay is None and feed is None:
        return None
    bars: list[tuple[str, float, str]] = []
    rows = []
    if outbox:
        raw, relay = outbox["raw_aiokafka_events_per_s"], outbox["outbox_relay_events_per_s"]
        bars += [("raw aiokafka\n(outbox run)", raw, "#999"), ("outbox relay", relay, "tab:blue")]
        rows.append(
            ["outbox relay (SQLite → Kafka)", n(relay), n(raw), outbox["ratio_relay_to_raw"]]
        )
    if replay:
        raw, rep = replay["raw_aiokafka_records_per_s"], replay["replay_records_per_s"]
        bars += [
            ("raw aiokafka\n(replay run)", raw, "#bbb"),
            ("ndx events\nreplay", rep, "tab:green"),
        ]
        rows.append(["`ndx events replay`", n(rep), n(raw), replay["ratio_replay_to_raw"]])
        rows.append(
            ["`ndx events record --no-decode`", n(replay["record_no_decode_records_per_s"]), "", ""]
        )
        rows.append(
            ["`ndx events record` (decoded)", n(replay["record_decoded_records_per_s"]), "", ""]
        )
    if feed:
        raw, got = feed["baseline_raw_consumer"]["events_per_s"], feed["feed"]["delivered_per_s"]
        bars += [
            ("raw aiokafka\nconsumer", raw, "#ccc"),
            ("agency feeds\n(10 subscribers)", got, "tab:purple"),
        ]
        rows.append(
            [
                f"agency feeds, {feed['feed']['subscribers']} subscribers (sum)",
                n(got),
                n(raw),
                feed["ratio_delivered_to_raw"],
            ]
        )
    source = outbox or replay or feed
    assert source is not None
    ratios = []
    if outbox:
        ratios.append(f"relay/raw {outbox['ratio_relay_to_raw']}")
    if replay:
        ratios.append(f"replay/raw {replay['ratio_replay_to_raw']}")
    if feed:
        ratios.append(f"feeds/raw consumer {feed['ratio_delivered_to_raw']}")
    with figure(
        "events_throughput", "Event throughput vs raw aiokafka", source, "; ".join(ratios)
    ) as ax:
        labels = [b[0] for b in bars]
        ax.bar(labels, [b[1] for b in bars], color=[b[2] for b in bars])
        ax.set_ylabel("events/s")
        ax.tick_params(axis="x", labelsize=7)
    out = [
        "## Event throughput vs raw aiokafka",
        "",
        "![events](benchmarks/events_throughput.png)",
        "",
        table(["path", "events/s", "raw aiokafka in the same run", "ratio"], rows),
        "",
        "Baselines: an idempotent aiokafka producer (acks=all) sending the same records, and a "
        "plain aiokafka consumer reading the same topic, each measured in the same run.",
        "",
    ]
    return "\n".join(out)


def propagation_section() -> str | None:
    p = load("propagation")
    if p is None:
        return None
    lat = p["latency"]
    series = [
        ("population → Kafka", lat["population_to_kafka"]),
        ("death → land's mirrored change on Kafka", lat["land"]),
        ("death → business's mirrored change on Kafka", lat["business"]),
    ]
    worst = max(lat["land"]["p99_ms"], lat["business"]["p99_ms"])
    first = lat["population_to_kafka"]["p99_ms"]
    ratio = (
        f"p99 {worst} ms, {p['p99_ratio_to_target']} of the {p['target_p99_ms']:.0f} ms target; "
        f"first hop (population → Kafka) p99 {first} ms"
    )
    if all("samples_ms" in s for _, s in series):
        with figure(
            "propagation_latency",
            f"Propagation latency, {lat['deaths']} deaths at {lat['rate_per_s']:.0f}/s",
            p,
            ratio,
        ) as ax:
            for label, s in series:
                values = s["samples_ms"]
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.step(values, ys, where="post", label=label)
            ax.axvline(p["target_p99_ms"], color="red", linestyle=":", label="p99 target")
            ax.set_xscale("log")
            ax.set_xlabel("ms (log scale)")
            ax.set_ylabel("fraction of deaths")
            ax.legend(fontsize=8)
    backlog = p["backlog"]
    out = [
        "## Propagation: a death in population to land's and business's mirrored events",
        "",
        "![propagation](benchmarks/propagation_latency.png)" if "samples_ms" in lat["land"] else "",
        "",
        table(
            ["hop", "p50 ms", "p99 ms", "max ms"],
            [[label, s["p50_ms"], s["p99_ms"], s.get("max_ms", "")] for label, s in series],
        ),
        "",
        f"Backlog of {n(backlog['events'])} citizen changes drained by land at "
        f"{n(backlog['land']['events_per_s'])} events/s and by business at "
        f"{n(backlog['business']['events_per_s'])} events/s.",
        "",
    ]
    return "\n".join(out)


def seeding_section() -> str | None:
    runs = {
        (db, size): load(f"seed_{size}{suffix}")
        for db, suffix in (("SQLite", ""), ("PostgreSQL", "_postgres"))
        for size in (100_000, 1_000_000)
    }
    found = {k: v for k, v in runs.items() if v is not None}
    if not found:
        return None
    big = found.get(("SQLite", 1_000_000))
    ratio = "seed time / generating the same rows without storing them: " + ", ".join(
        f"{db} {size_label(size)} {r['seed_total_s'] / r['generation_only_s']:.2f}"
        for (db, size), r in sorted(found.items())
    )
    source = big or next(iter(found.values()))
    with figure("seeding", "Seeding citizens: time by size", source, ratio) as ax:
        for db, style in (("SQLite", "o-"), ("PostgreSQL", "s-")):
            points = sorted((size, r) for (d, size), r in found.items() if d == db)
            if points:
                ax.plot(
                    [s for s, _ in points], [r["seed_total_s"] for _, r in points], style, label=db
                )
        gen = sorted(
            (size, r["generation_only_s"]) for (d, size), r in found.items() if d == "SQLite"
        )
        if gen:
            ax.plot(
                [s for s, _ in gen],
                [g for _, g in gen],
                "x:",
                color="#777",
                label="generation only (baseline)",
            )
        ax.axhline(60, color="red", linestyle=":", label="1M target (60 s)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted({size for _, size in found})
        ax.set_xticks(sizes, [size_label(s) for s in sizes])
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel("citizens")
        ax.set_ylabel("seconds")
        ax.legend(fontsize=8)
    rows = [
        [
            db,
            f"{size:,}",
            r["seed_total_s"],
            n(r["seed_rows_per_s"]),
            r["generation_only_s"],
            round(r["seed_total_s"] / r["generation_only_s"], 2),
            r.get("database_mb") or "",
            r["peak_rss_mb"],
        ]
        for (db, size), r in sorted(found.items())
    ]
    out = [
        "## Seeding time by size",
        "",
        "![seeding](benchmarks/seeding.png)",
        "",
        table(
            [
                "database",
                "citizens",
                "seconds",
                "rows/s",
                "generation only s",
                "ratio",
                "database MB",
                "peak RSS MB",
            ],
            rows,
        ),
        "",
    ]
    if big and big.get("ratio_to_target") is not None:
        out += [
            f"1,000,000 into SQLite: {big['seed_total_s']} s, {big['ratio_to_target']} of the "
            "60 s target.",
            "",
        ]
    return "\n".join(out)


def size_label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def lookups_section() -> str | None:
    registry, verify, verify_pg = load("registry_direct"), load("verify"), load("verify_postgres")
    rows = []
    if registry:
        rows.append(
            [
                "GetCitizen straight to the registry (SQLite)",
                f"{n(registry['get_citizen_per_s'])} calls/s",
                f"p50 {registry['get_citizen_p50_ms']} / p99 {registry['get_citizen_p99_ms']} ms",
            ]
        )
    for r in (verify, verify_pg):
        if r:
            rows.append(
                [
                    f"BatchVerifyCitizens ({r['database']})",
                    f"{n(r['claims_per_s'])} claims/s",
                    f"ratio to {n(r['reference_claims_per_s'])} claims/s reference: "
                    f"{r['ratio_to_reference']}",
                ]
            )
    if not rows:
        return None
    return "\n".join(
        ["## Registry lookups", "", table(["what", "throughput", "latency / ratio"], rows), ""]
    )


SECTIONS: list[Callable[[], str | None]] = [
    gateway_section,
    events_section,
    propagation_section,
    seeding_section,
    lookups_section,
]


def render() -> str:
    results = sorted(RESULTS.glob("*.json"))
    newest = max(
        (json.loads(p.read_text()) for p in results), key=lambda r: r["time"], default=None
    )
    head = [
        "# Benchmarks",
        "",
        "Made by `make bench`, which runs every benchmark in `bench/` (each writes "
        "`bench/results/<name>.json`) and renders this page from the results "
        "(`make bench-report` renders it alone). Every figure names the machine and versions it "
        "was measured on and its ratio to a baseline measured in the same run. The load "
        "generators, Kafka and the services share the machine's cores, so the figures are a "
        "floor for a deployment with separate hosts.",
        "",
    ]
    if newest:
        head += [f"Machine: {machine_line(newest)}.", ""]
    body = [s for s in (section() for section in SECTIONS) if s]
    return "\n".join(head + body)


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.md").write_text(render())
    print(f"wrote {DOCS / 'benchmarks.md'} and {len(list(PLOTS.glob('*.png')))} plots")


if __name__ == "__main__":
    main()
