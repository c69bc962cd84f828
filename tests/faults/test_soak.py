"""The soak harness (`make soak`, bench/soak.py) run for half a minute at a low rate: the whole
system as `ndx up` starts it, mixed traffic and feeds through the gateway, and its figures.
Nothing is broken: every call must succeed and every change be accounted for. Memory is
reported, not judged here (a half-minute run says nothing about a leak)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ndx_cli.stack.procs import read_pid, stop_pid

from . import figures

BENCH = Path(__file__).resolve().parents[2] / "bench"
PROCESSES = {"population", "land", "business-registry", "gateway", "kafka"}
KINDS = {
    "lookup_citizen",
    "lookup_parcel",
    "lookup_enterprise",
    "verify_citizen",
    "batch_verify_citizens",
    "rename_citizen",
}


def run_soak(home: Path, output: Path, bootstrap: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    args = [
        *("--minutes", "0.35", "--rate", "8", "--sample-seconds", "5"),
        *("--citizens", "1500", "--parcels", "500", "--enterprises", "200"),
        *("--home", str(home), "--output", str(output)),
    ]
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "soak.py"), *args],
        cwd=BENCH,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the soak stops what it started
        out, _ = proc.communicate(timeout=120)
        pytest.fail(f"the soak did not finish in 10 minutes:\n{out[-4000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        # Whatever it left running (it was killed before it could stop the system).
        for pid_file in (home / "run").glob("*.pid"):
            pid = read_pid(pid_file)
            if pid is not None:
                stop_pid(pid)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def test_a_short_soak_fails_no_call_and_accounts_for_every_event(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "soak.json"
    done = run_soak(tmp_path / "home", output, kafka_bootstrap)
    assert done.returncode == 0, done.stdout[-6000:]
    document = json.loads(output.read_text())

    # The reliability report reads it as it reads every scenario's record.
    monkeypatch.setenv(figures.RESULTS, str(tmp_path / "shape"))
    shape = figures.record("soak", broken="b", checked="c", errors=0)
    assert shape is not None
    assert set(json.loads(shape.read_text())) <= set(document)
    assert document["scenario"] == "soak"

    f: dict[str, Any] = document["figures"]
    assert f["errors"] == 0 and f["requests"] > 0
    by_kind = f["requests_by_kind"]
    assert set(by_kind) == KINDS
    assert all(k["requests"] > 0 and k["errors"] == 0 for k in by_kind.values()), by_kind
    assert f["requests"] == sum(k["requests"] for k in by_kind.values())

    # Every rename accepted: on the topic once, applied once by each mirror, delivered once
    # by each citizen feed; the mirrors' own changes delivered once by theirs.
    assert f["events_written"] > 0
    assert f["events_published"] == f["events_written"]
    events = f["events"]
    assert len(events) == 3 + f["feeds"]
    for name, line in events.items():
        assert line["delivered"] == line["expected"], name
        assert line["lost"] == 0 and line["duplicated"] == 0, name
    citizen = [line for name, line in events.items() if not name.startswith(("parcel", "ent"))]
    assert {line["expected"] for line in citizen} == {f["events_written"]}
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["dead_lettered"] == 0
    assert f["drained"] is True
    assert all(lag["end"] == 0 for lag in f["consumer_lag"].values()), f["consumer_lag"]

    # Memory of every process, sampled from after the warm-up to the end of the load.
    assert set(f["rss_mb"]) == PROCESSES
    for name, rss in f["rss_mb"].items():
        assert rss["start_mb"] > 0 and rss["end_mb"] > 0, name
        assert rss["max_mb"] >= max(rss["start_mb"], rss["end_mb"]), name
    labels = [s["label"] for s in document["samples"]]
    assert labels[0] == "start" and labels[-2:] == ["end", "drained"]


def test_the_books_count_what_is_lost_and_what_is_duplicated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The harness can fail: a change missing downstream counts as lost, one received twice
    or never written as duplicated."""
    monkeypatch.syspath_prepend(str(BENCH))
    from soak_accounts import Published, by_identity, on_topic

    line = by_identity(["e1", "e2", "e3"], ["e1", "e2", "e2"])
    assert (line.expected, line.delivered, line.lost, line.duplicated) == (3, 3, 1, 1)

    written = [("001", 2), ("002", 2)]
    topic = [Published("e1", "001", 2), Published("e2", "001", 2), Published("e3", "003", 2)]
    line = on_topic(written, topic)
    # 002 never published; 001 published twice, and 003 published though never written.
    assert (line.lost, line.duplicated) == (1, 2)
