"""`python -m ndx_land` / `ndx-population`: run the land registry."""

from __future__ import annotations

import asyncio

from .bootstrap import serve


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
