"""`ndx events scenario`: its arguments, and a run against the registries with its summary."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_cli.main import cli
from ndx_cli.scenario import SCENARIOS
from ndx_cli.scenario_cmd import NAMES


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
    env = {
        **os.environ,
        "NDX_HOME": str(pki.parent),
        **{
            f"NDX_{name.upper()}_ADDRESS": f"127.0.0.1:{getattr(exchange, name).host.port}"
            for name in ("population", "land", "business")
        },
    }
    args = ("events", "scenario", "life", "--count", "30", "--via", "direct", "--max-load", "300")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ndx_cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()

    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == "scenario life, seed 1"
    assert "succeeded 30, refused 0" in lines
    assert any(line.startswith("calls: ") and "UpdateCitizen" in line for line in lines)
    assert any(line.startswith("30 calls in ") for line in lines)
