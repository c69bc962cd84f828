"""`python -m ndx_business` / `ndx-business [serve|migrate]`: run the business registry,
or migrate its database."""

from __future__ import annotations

from collections.abc import Sequence

from ndx_runtime.commands import service_main

from .bootstrap import serve
from .config import BusinessSettings
from .migrations import MIGRATIONS


def main(argv: Sequence[str] | None = None) -> None:
    service_main("ndx-business", BusinessSettings, MIGRATIONS, serve, argv)


if __name__ == "__main__":
    main()
