"""gRPC server bootstrap: mTLS, allow-list, health, reflection, graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .grpc_observe import observe_call
from .grpc_wrap import AroundInterceptor
from .metrics import RpcMetrics
from .revocation import Revocations
from .settings import ServiceSettings
from .tls import AllowListInterceptor, server_credentials

log = structlog.get_logger(__name__)

Register = Callable[[Any, grpc.aio.Server], None]


class ServiceHost:
    """One gRPC server for a service's APIs, started and stopped as a unit."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        secure: bool = True,
        allow_list: bool = True,
        observe: bool = True,
        reuse_port: bool = False,
        interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]] = (),
        options: Sequence[tuple[str, Any]] = (),
        rpc_metrics: RpcMetrics | None = None,
    ) -> None:
        """`allow_list` and `observe` add the identity allow-list and the tracing/logging
        interceptor (a server that does both itself, like the gateway, turns them off);
        `reuse_port` lets several processes serve one port; `rpc_metrics` counts every call."""
        self.settings = settings
        chain: list[grpc.aio.ServerInterceptor[Any, Any]] = []
        if rpc_metrics is not None:
            # Outermost, so that calls the allow-list refuses are counted too.
            chain.append(AroundInterceptor(rpc_metrics.around))
        if secure and allow_list:
            revocations = Revocations(settings.tls_crl_file, settings.tls_ca_file)
            chain.append(AllowListInterceptor(settings.allowed_identities, revocations))
        if observe:
            chain.append(AroundInterceptor(observe_call))
        chain.extend(interceptors)
        self.server = grpc.aio.server(
            interceptors=chain,
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                *options,
            ],
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._services: list[str] = []
        self._secure = secure
        self._serving = True
        self.port = 0

    def add(self, register: Register, servicer: Any, service_name: str) -> None:
        """Adds a servicer, e.g. `add(add_PopulationServiceServicer_to_server, svc, NAME)`."""
        register(servicer, self.server)
        self._services.append(service_name)

    def add_generic(
        self,
        handler: grpc.GenericRpcHandler,  # type: ignore[type-arg]
        service_names: Sequence[str],
    ) -> None:
        """Adds a handler that serves the named services by method name."""
        self.server.add_generic_rpc_handlers((handler,))
        self._services.extend(service_names)

    async def start(self) -> int:
        names = [*self._services, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, self.server)
        address = f"{self.settings.grpc_host}:{self.settings.grpc_port}"
        if self._secure:
            creds = server_credentials(
                self.settings.tls_cert_file, self.settings.tls_key_file, self.settings.tls_ca_file
            )
            self.port = self.server.add_secure_port(address, creds)
        else:
            self.port = self.server.add_insecure_port(address)
        await self.set_serving(self._serving)
        await self.server.start()
        log.info("grpc serving", address=address, port=self.port, services=self._services)
        return self.port

    async def set_serving(self, serving: bool) -> None:
        """What the health service says of the server ("") and each of its services: readiness
        mirrored for clients that check health on this port."""
        self._serving = serving
        status = health_pb2.HealthCheckResponse.SERVING
        if not serving:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *self._services):
            await self.health.set(name, status)

    async def stop(self, grace: float | None = None) -> None:
        """Stops taking calls and lets in-flight ones finish within the grace period."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)


async def wait_for_shutdown_signal() -> None:
    """Returns on SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("shutdown signal received")
