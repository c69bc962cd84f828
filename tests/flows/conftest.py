"""Three registries in one process, seeded from one seed, on their own topics and groups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ndx_cli.exchange import Exchange, Sizes, start_exchange

SIZES = Sizes()
SEED, CITIZENS, ENTERPRISES, PARCELS = SIZES.seed, SIZES.citizens, SIZES.enterprises, SIZES.parcels

__all__ = ["Exchange"]


@pytest.fixture
async def exchange(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[Exchange]:
    running = await start_exchange(tmp_path, kafka_bootstrap, pki, f"test.{unique}", sizes=SIZES)
    try:
        yield running
    finally:
        await running.stop()
