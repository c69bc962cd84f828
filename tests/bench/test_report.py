"""The benchmark report renders docs/benchmarks.md and its plots from results files."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module("report")
    results = tmp_path / "results"
    shutil.copytree(BENCH / "results", results)
    monkeypatch.setattr(module, "RESULTS", results)
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PLOTS", tmp_path / "docs" / "benchmarks")
    yield module
    sys.modules.pop("report", None)


def test_every_section_with_its_plot_machine_and_ratio(report: ModuleType, tmp_path: Path) -> None:
    report.main()
    page = (tmp_path / "docs" / "benchmarks.md").read_text()
    for heading in ("## Gateway vs direct", "## Event throughput", "## Propagation", "## Seeding"):
        assert heading in page
    plots = {p.name for p in (tmp_path / "docs" / "benchmarks").glob("*.png")}
    linked = {
        line.split("benchmarks/")[1].rstrip(")")
        for line in page.splitlines()
        if line.startswith("![")
    }
    assert linked and linked <= plots
    for name in plots:
        assert (tmp_path / "docs" / "benchmarks" / name).read_bytes().startswith(b"\x89PNG")
    gateway = json.loads((tmp_path / "results" / "gateway.json").read_text())
    assert f"ratio **{gateway['throughput_ratio']}**" in page
    assert f"{gateway['machine']['cpus']} CPUs" in page


def test_missing_results_leave_their_sections_out(report: ModuleType, tmp_path: Path) -> None:
    for path in (tmp_path / "results").glob("seed_*.json"):
        path.unlink()
    report.main()
    page = (tmp_path / "docs" / "benchmarks.md").read_text()
    assert "## Seeding" not in page
    assert "## Event throughput" in page
