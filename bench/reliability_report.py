"""Renders docs/reliability.md from bench/results/reliability/*.json.

The fault, bad-input and soak scenarios write one file each when NDX_RELIABILITY_RESULTS is
set: `make chaos` runs the fault and bad-input tests at ten times their test-suite size,
`make soak` runs the ten-minute soak; both then render this report. `make reliability-report`
renders it alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reliability"
DOCS = ROOT / "docs"

Result = dict[str, Any]

# Sections of the report, and the scenarios in each, in the order the issue lists them.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Faults",
        [
            ("broker-killed", "Kafka broker killed mid-stream"),
            ("registry-killed", "Registry killed between commit and publish"),
            ("consumer-killed", "Consumer killed mid-batch"),
            ("database-down", "Database unavailable"),
            ("gateway-kafka-down", "The gateway with Kafka down"),
            ("hung-registry", "A hung registry behind the gateway"),
        ],
    ),
    (
        "Bad input and attackers",
        [
            ("gateway-properties", "Random calls through the gateway"),
            ("certificates", "Certificates that must be refused"),
            ("policy-files", "Policy files that must be refused"),
            ("poison-events", "Poison events"),
            ("audit-tampering", "Audit tampering"),
        ],
    ),
    ("Load", [("soak", "Soak: mixed traffic through the gateway at a fixed rate")]),
]

# Figures that must be zero in every run; the summary table shows them per scenario.
MUST_BE_ZERO = ("lost", "duplicated", "errors")

INTRO = """\
# Reliability

What the exchange promises: no change is lost, no change is applied twice, no field leaks, no
access goes unaudited, including when things break. Each scenario below breaks something for
real on one machine (processes are killed with SIGKILL or stopped with SIGSTOP, the broker and
PostgreSQL are killed and restarted) and checks the promise; the figures are those of each
scenario's last recorded run, whose time and size are stated under it.

- `make chaos` runs the fault and bad-input scenarios (`tests/faults/` and the tests they name)
  at ten times the size the test suite runs them at, and renders this page.
- `make soak` runs ten minutes of mixed traffic through the gateway, and renders this page.
- `make reliability-report` renders it again from `bench/results/reliability/`.

The test suite (`make test`) runs the same scenarios at their smaller size; a scenario that
loses or duplicates anything fails there.
"""


LIMITS = """\
## Known limits

- A call refused because its audit record was not acknowledged in time
  (`GATEWAY_AUDIT_TIMEOUT_SECONDS`) may still have that record stored later, with the status the
  call would have had: the audit then shows an access the agency never received (never the
  reverse). In the gateway-with-Kafka-down run every such record was stored.
- The outbox relay remembers what it published when the database fails before the rows are
  deleted, so it does not publish them again, on PostgreSQL. On SQLite, which may reuse row
  ids, those rows are published again; consumers' inboxes absorb the copies.
- The per-registry in-flight limit and the quotas are per gateway process.
- A registry started while Kafka is unreachable waits at its consumers' start and does not
  serve until Kafka answers; a registry already running keeps serving and taking writes.
"""


def load(name: str) -> Result | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def label(key: str) -> str:
    return key.replace("_", " ")


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, list):
        return ", ".join(value(x) for x in v)
    return str(v)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def figures_tables(figures: dict[str, Any]) -> list[str]:
    """One table of the scalar figures, and one per nested group (e.g. RSS by process)."""
    scalars = [[label(k), value(v)] for k, v in figures.items() if not isinstance(v, dict)]
    out = [table(["figure", "value"], scalars)] if scalars else []
    for key, group in figures.items():
        if not isinstance(group, dict):
            continue
        if all(isinstance(v, dict) for v in group.values()):
            columns = list(dict.fromkeys(c for row in group.values() for c in row))
            rows = [[k] + [value(row.get(c, "")) for c in columns] for k, row in group.items()]
            out.append(f"{label(key)}:\n\n" + table([""] + [label(c) for c in columns], rows))
        else:
            rows = [[label(k), value(v)] for k, v in group.items()]
            out.append(f"{label(key)}:\n\n" + table(["", "value"], rows))
    return out


def scenario_section(name: str, title: str, result: Result | None) -> str:
    head = f"### {title}"
    if result is None:
        return head + f"\n\nNot run yet (scenario `{name}`).\n"
    if "minutes" in result["figures"]:
        size = f"{value(result['figures']['minutes'])} minutes"
    else:
        size = "chaos size" if result.get("scale", 1) > 1 else "test-suite size"
    parts = [
        head,
        f"**Broken:** {result['broken']}",
        f"**Checked:** {result['checked']}",
        *figures_tables(result["figures"]),
        f"Last run {result['finished']} at {size}, {result['machine']}.",
    ]
    return "\n\n".join(parts) + "\n"


def summary(results: dict[str, Result]) -> str:
    rows = []
    for name, result in results.items():
        figures = result["figures"]
        rows.append([name] + [value(figures[k]) if k in figures else "–" for k in MUST_BE_ZERO])
    return "## Summary\n\n" + table(["scenario", *MUST_BE_ZERO], rows) + "\n"


def violations(results: dict[str, Result]) -> list[str]:
    """Scenarios whose last run reported a non-zero lost, duplicated or errors figure."""
    return [
        f"{name}: {k} = {r['figures'][k]}"
        for name, r in results.items()
        for k in MUST_BE_ZERO
        if r["figures"].get(k)
    ]


def render() -> tuple[str, list[str]]:
    results: dict[str, Result] = {}
    sections = []
    for heading, scenarios in SECTIONS:
        parts = [f"## {heading}\n"]
        for name, title in scenarios:
            result = load(name)
            if result is not None:
                results[name] = result
            parts.append(scenario_section(name, title, result))
        sections.append("\n".join(parts))
    document = "\n".join([INTRO, summary(results), *sections, LIMITS])
    return document, violations(results)


def main() -> int:
    document, bad = render()
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "reliability.md").write_text(document)
    print(f"wrote {DOCS / 'reliability.md'}")
    for line in bad:
        print(f"not zero: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
