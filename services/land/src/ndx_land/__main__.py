"""`python -m ndx_land` / `ndx-land [serve|migrate]`: run the land registry, or migrate its
database."""

from __future__ import annotations

from collections.abc import Sequence

from ndx_runtime.commands import service_main

from .bootstrap import serve
from .config import LandSettings
from .migrations import MIGRATIONS


def main(argv: Sequence[str] | None = None) -> None:
    service_main("ndx-land", LandSettings, MIGRATIONS, serve, argv)


if __name__ == "__main__":
    main()
