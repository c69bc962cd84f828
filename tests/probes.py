"""Asking a service's readiness probe, as Kubernetes does: gRPC health service "readiness" on
its plaintext health port."""

from __future__ import annotations

import asyncio
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def readiness(port: int) -> int:
    """The status the readiness probe on `port` answers now."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service="readiness")
        return int((await health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)).status)


async def becomes(port: int, status: int, timeout: float = 120.0) -> float:
    """Waits until the readiness probe on `port` says `status`; returns the seconds it took."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while await readiness(port) != status:  # noqa: ASYNC110 (the service's own loop)
            await asyncio.sleep(0.1)
    return time.monotonic() - started
