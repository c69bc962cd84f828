"""Health for probes: a plaintext grpc.health.v1 port, and readiness checked in the background.

Kubernetes' built-in gRPC probe cannot present a client certificate, so the probes get a port
of their own that serves the health service and nothing else. Service "" is liveness (SERVING
while the process runs, NOT_SERVING once it shuts down); service "readiness" is SERVING only
while every readiness check passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

log = structlog.get_logger(__name__)

LIVENESS = ""
READINESS = "readiness"

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# A check returns when what it checks answers, and raises (anything) when it does not.
Check = Callable[[], Awaitable[object]]
Listener = Callable[[bool], Awaitable[None]]


class HealthPort:
    """A plaintext gRPC server with only the health service, for probes."""

    def __init__(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """`reuse_port` lets several processes (the gateway's workers) share the port."""
        self.address = f"{host}:{port}"
        self.server = grpc.aio.server(options=[("grpc.so_reuseport", 1 if reuse_port else 0)])
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = 0

    async def start(self) -> int:
        """Serves: alive, not ready yet."""
        self.port = self.server.add_insecure_port(self.address)
        await self.health.set(LIVENESS, SERVING)
        await self.health.set(READINESS, NOT_SERVING)
        await self.server.start()
        log.info("health serving", address=self.address, port=self.port)
        return self.port

    async def set_ready(self, ready: bool) -> None:
        await self.health.set(READINESS, SERVING if ready else NOT_SERVING)

    async def shutting_down(self) -> None:
        """Neither alive nor ready from now on (the port still answers, to say so)."""
        await self.health.enter_graceful_shutdown()

    async def stop(self) -> None:
        await self.shutting_down()
        await self.server.stop(None)


class Readiness:
    """Whether a service can take traffic: every named check passes within `timeout`.

    `run()` checks every `interval` seconds and tells the listeners when the verdict changes;
    a check that starts or stops failing is logged once, not on every round.
    """

    def __init__(
        self, checks: Mapping[str, Check], *, interval: float = 5.0, timeout: float = 2.0
    ) -> None:
        self.checks = dict(checks)
        self.interval = interval
        self.timeout = timeout
        self.ready = False
        self.failing: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._checked = False

    def on_change(self, listener: Listener) -> None:
        """Calls `listener(ready)` after every change of verdict (and after the first check)."""
        self._listeners.append(listener)

    async def check(self) -> bool:
        """Runs every check once, concurrently; returns (and announces) the verdict."""
        names = list(self.checks)
        errors = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        failing = {n: e for n, e in zip(names, errors, strict=True) if e is not None}
        for name, error in failing.items():
            if name not in self.failing:
                log.warning("readiness check failing", check=name, error=error)
        for name in self.failing.keys() - failing.keys():
            log.info("readiness check passing again", check=name)
        self.failing = failing
        ready = not failing
        if ready != self.ready or not self._checked:
            self.ready, self._checked = ready, True
            log.info("readiness changed", ready=ready, failing=sorted(failing))
            for listener in self._listeners:
                await listener(ready)
        return ready

    async def wait(self) -> None:
        """Returns once every check passes."""
        while not await self.check():  # noqa: ASYNC110 (the state is outside this process)
            await asyncio.sleep(self.interval)

    async def run(self) -> None:
        """Checks every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    async def _run(self, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as error:
            cause = getattr(error, "orig", None) or error  # a driver's words, not SQLAlchemy's
            return f"{type(cause).__name__}: {cause}"[:500]
        return None
