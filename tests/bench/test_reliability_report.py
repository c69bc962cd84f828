"""docs/reliability.md is rendered from the figures the scenarios record."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ..faults import figures

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module("reliability_report")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setenv(figures.RESULTS, str(tmp_path / "results"))
    yield module
    sys.modules.pop("reliability_report", None)


def test_recorded_figures_appear_under_their_scenario(report: ModuleType, tmp_path: Path) -> None:
    figures.record(
        "broker-killed",
        broken="the broker, SIGKILL",
        checked="each write applied once",
        writes=10_000,
        lost=0,
        duplicated=0,
        downtime_seconds=4.25,
    )
    figures.record(
        "soak",
        broken="nothing",
        checked="flat memory",
        requests=24_000,
        errors=0,
        rss_mb={"gateway": {"start": 80.5, "end": 81.0}, "land": {"start": 60.0, "end": 60.2}},
    )
    assert report.main() == 0
    text = (tmp_path / "docs" / "reliability.md").read_text()
    assert "### Kafka broker killed mid-stream" in text
    assert "**Broken:** the broker, SIGKILL" in text
    assert "| writes | 10,000 |" in text
    assert "| downtime seconds | 4.25 |" in text
    assert "| gateway | 80.5 | 81 |" in text
    assert "| broker-killed | 0 | 0 | – |" in text
    # A scenario without figures says so instead of showing old ones.
    assert "Not run yet (scenario `database-down`)" in text


def test_a_lost_change_is_reported_and_fails_the_render(
    report: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures.record("registry-killed", broken="b", checked="c", lost=2, duplicated=0)
    assert report.main() == 1
    assert "registry-killed: lost = 2" in capsys.readouterr().err


def test_nothing_is_recorded_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(figures.RESULTS, raising=False)
    assert figures.record("soak", broken="b", checked="c", errors=0) is None
