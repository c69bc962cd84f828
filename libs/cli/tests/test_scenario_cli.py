"""`ndx events scenario`: its arguments, and a run against the registries with its summary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_cli.main import cli
from ndx_cli.scenario import SCENARIOS
from ndx_cli.scenario_cmd import NAMES

from .test_cli import ndx


def test_the_command_offers_every_scenario() -> None:
    assert set(NAMES) == set(SCENARIOS)


def test_an_unknown_scenario_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["events", "scenario", "wedding"])
    assert result.exit_code == 2
    assert "'wedding' is not one of 'life', 'land', 'business', 'mixed'" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--via", "direct", "--purpose", "x"], "--purpose applies through the gateway only"),
        (["--count", "-1"], "-1 is not in the range x>=0"),
        (["--concurrency", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["events", "scenario", "life", *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.fixture
async def exchange(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[Exchange]:
    sizes = Sizes(citizens=1_500, enterprises=60, parcels=60)
    running = await start_exchange(tmp_path, kafka_bootstrap, pki, f"test.{unique}", sizes=sizes)
    try:
        yield running
    finally:
        await running.stop()


async def test_a_run_prints_its_summary(exchange: Exchange, pki: Path) -> None:
    code, out, err = await ndx(
        exchange.population,
        pki,
        *("events", "scenario", "life", "--count", "30", "--via", "direct", "--max-load", "300"),
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "scenario life, seed 1"
    assert "succeeded 30, refused 0" in lines
    assert any(line.startswith("calls: ") and "UpdateCitizen" in line for line in lines)
    assert any(line.startswith("30 calls in ") for line in lines)
