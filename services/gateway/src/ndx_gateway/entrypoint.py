"""`ndx-gateway [serve|migrate]`: one process serving and indexing the audit topic, or
(GATEWAY_WORKERS above 1) serving workers sharing the port and a main process that indexes and
supervises, so that indexing never holds up a call; or migrate the index's database and exit.

With workers, the main process migrates before it starts them, and the workers share the
health port as they share the gRPC port; the main process serves no health port."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence

import structlog

from ndx_runtime.commands import command, migrate, migrate_and_exit
from ndx_runtime.grpc_server import wait_for_shutdown_signal
from ndx_runtime.service import configure_observability, settle_heap

from .bootstrap import start, start_indexer
from .config import GatewaySettings
from .migrations import MIGRATIONS

log = structlog.get_logger(__name__)


async def serve(settings: GatewaySettings, *, worker: int = 0, index_audit: bool) -> None:
    """Runs one serving process until SIGTERM or SIGINT."""
    configure_observability(settings)
    running = await start(settings, index_audit=index_audit)
    log.info("ready", service=settings.service_name, port=running.port, worker=worker)
    settle_heap()
    await wait_for_shutdown_signal()
    await running.stop()


async def index(settings: GatewaySettings) -> None:
    """Runs the data tracker's indexer until SIGTERM or SIGINT."""
    configure_observability(settings)
    indexer = await start_indexer(settings)
    await wait_for_shutdown_signal()
    await indexer.stop()


def worker_settings(settings: GatewaySettings, worker: int) -> GatewaySettings:
    """A worker's settings: its own metrics port, the one after the main process's and the
    workers' before it (GATEWAY_METRICS_PORT=9451: main 9451, workers 9452, 9453, ...);
    port 0 stays 0, any free port."""
    port = settings.metrics_port
    if not port:
        return settings
    return settings.model_copy(update={"metrics_port": port + 1 + worker})


def _worker(settings: GatewaySettings, worker: int) -> None:
    # The main process forwards SIGTERM; Ctrl-C in a terminal reaches every process anyway.
    asyncio.run(serve(worker_settings(settings, worker), worker=worker, index_audit=False))


def main(argv: Sequence[str] | None = None) -> None:
    if command("ndx-gateway", argv) == "migrate":
        migrate_and_exit(GatewaySettings(), MIGRATIONS)
    settings = GatewaySettings()
    if settings.workers <= 1:
        asyncio.run(serve(settings, index_audit=True))
        return
    if settings.migrate_on_start:
        # Once, before the workers start: they find the schema at head.
        if asyncio.run(migrate(settings, MIGRATIONS)) is None:
            sys.exit(1)
        settings = settings.model_copy(update={"migrate_on_start": False})
    children: list[multiprocessing.process.BaseProcess] = []
    context = multiprocessing.get_context("spawn")
    for n in range(settings.workers):
        child = context.Process(target=_worker, args=(settings, n), name=f"gateway-{n}")
        child.start()
        children.append(child)
    try:
        asyncio.run(index(settings))
    finally:
        for running in children:
            if running.pid is not None and running.is_alive():
                os.kill(running.pid, signal.SIGTERM)
        for running in children:
            running.join(timeout=settings.shutdown_grace_seconds + 5)
