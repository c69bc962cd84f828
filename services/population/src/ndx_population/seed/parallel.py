"""Generating seed rows in a child process, so that generation and inserts run on two cores."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from itertools import islice
from queue import Empty
from typing import Any

from ..adapters.bulk_load import row_converter
from .generator import generate_citizens

_DONE = None


def _produce(seed: int, count: int, dialect: str, batch_size: int, queue: Any) -> None:
    to_row = row_converter(dialect)
    citizens = generate_citizens(seed, count)
    while batch := [to_row(c) for c in islice(citizens, batch_size)]:
        queue.put(batch)
    queue.put(_DONE)


def rows_from_child(
    seed: int, count: int, dialect: str, batch_size: int = 20_000
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of the same rows `generate_citizens(seed, count)` gives, built in a child process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=4)
    child = ctx.Process(
        target=_produce, args=(seed, count, dialect, batch_size, queue), daemon=True
    )
    child.start()
    try:
        while True:
            try:
                batch = queue.get(timeout=1.0)
            except Empty:
                if not child.is_alive():
                    raise RuntimeError(f"seed generator exited with {child.exitcode}") from None
                continue
            if batch is _DONE:
                break
            yield batch
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"seed generator exited with {child.exitcode}")
    finally:
        if child.is_alive():
            child.terminate()
