"""`python -m ndx_business` / `ndx-business`: run the business registry."""

from __future__ import annotations

import asyncio

from .bootstrap import serve


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
