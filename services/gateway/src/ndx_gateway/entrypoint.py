"""Running the gateway: one process, or a main process and workers sharing the port."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal

import structlog

from ndx_runtime.grpc_server import wait_for_shutdown_signal
from ndx_runtime.logs import configure_logging
from ndx_runtime.telemetry import configure_tracing

from .bootstrap import start
from .config import GatewaySettings

log = structlog.get_logger(__name__)


async def serve(settings: GatewaySettings, *, worker: int = 0) -> None:
    """Runs one gateway process until SIGTERM or SIGINT. Worker 0 also indexes the audit log
    for the data tracker."""
    configure_logging(settings.log_level, settings.log_format, settings.service_name)
    configure_tracing(settings.service_name, otlp=bool(settings.otlp_endpoint))
    running = await start(settings, index_audit=worker == 0)
    log.info("ready", service=settings.service_name, port=running.port, worker=worker)
    await wait_for_shutdown_signal()
    await running.stop()


def _worker(settings: GatewaySettings, worker: int) -> None:
    # The main process forwards SIGTERM; Ctrl-C in a terminal reaches every process anyway.
    asyncio.run(serve(settings, worker=worker))


def main() -> None:
    settings = GatewaySettings()
    children: list[multiprocessing.process.BaseProcess] = []
    if settings.workers > 1:
        context = multiprocessing.get_context("spawn")
        for n in range(1, settings.workers):
            child = context.Process(target=_worker, args=(settings, n), name=f"gateway-{n}")
            child.start()
            children.append(child)
    try:
        asyncio.run(serve(settings, worker=0))
    finally:
        for running in children:
            if running.pid is not None and running.is_alive():
                os.kill(running.pid, signal.SIGTERM)
        for running in children:
            running.join(timeout=settings.shutdown_grace_seconds + 5)
