"""ghz, a Go gRPC load generator: installed from the Go module proxy on first use, driven at a
fixed concurrency (or a fixed rate) for a fixed time, its JSON report reduced to figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import ROOT, STATE

GHZ_VERSION = "v0.120.0"


def ghz_binary() -> str | None:
    """The ghz executable, or None where Go is missing (callers fall back to a Python client)."""
    target = STATE / "bin" / "ghz"
    if target.exists():
        return str(target)
    if not shutil.which("go"):
        return None
    env = {**os.environ, "GOBIN": str(target.parent)}
    result = subprocess.run(
        ["go", "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"],
        env=env,
        capture_output=True,
        text=True,
    )
    return str(target) if result.returncode == 0 else None


def protoset() -> Path:
    """The population contract with its imports, as ghz reads it."""
    work = STATE / "bench"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "ndx.protoset"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(ROOT / "proto"),
            "--include_imports",
            f"--descriptor_set_out={out}",
            "ndx/population/v1/population_service.proto",
        ],
        check=True,
    )
    return out


def run_ghz(
    binary: str,
    pki: Path,
    address: str,
    method: str,
    data: list[dict[str, object]],
    concurrency: int,
    seconds: float,
    *,
    identity: str = "gateway",
    metadata: dict[str, str] | None = None,
    rps: int | None = None,
) -> dict[str, Any]:
    """Calls `method` ("pkg.Service.Method") on `address` presenting `identity`'s certificate,
    cycling through `data`, with `concurrency` workers for `seconds` (at most `rps` calls a
    second when given); returns ghz's JSON report."""
    work = STATE / "bench"
    work.mkdir(parents=True, exist_ok=True)
    data_file = work / "ghz-data.json"
    data_file.write_text(json.dumps(data))
    command = [
        binary,
        "--cacert",
        str(pki / "ca.crt"),
        "--cert",
        str(pki / f"{identity}.crt"),
        "--key",
        str(pki / f"{identity}.key"),
        "--protoset",
        str(protoset()),
        "--call",
        method,
        "--data-file",
        str(data_file),
        "-c",
        str(concurrency),
        "-z",
        f"{int(seconds)}s",
        "--connections",
        str(min(4, concurrency)),  # ghz refuses more connections than workers
        "-O",
        "json",
    ]
    if metadata:
        command += ["--metadata", json.dumps(metadata)]
    if rps:
        command += ["--rps", str(rps)]
    out = subprocess.run([*command, address], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ghz failed: {(out.stderr or out.stdout)[-2000:]}")
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def ghz_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Calls per second, p50/p99 latency in ms and the status codes of one run."""
    lat = {d["percentage"]: d["latency"] / 1e6 for d in report.get("latencyDistribution") or ()}
    return {
        "rps": round(float(report["rps"])),
        "p50_ms": round(lat.get(50, float("nan")), 2),
        "p99_ms": round(lat.get(99, float("nan")), 2),
        "status": report["statusCodeDistribution"],
    }
