"""Which methods the gateway serves and where each goes: every method of each configured
registry service (from the compiled descriptors), plus the gateway's own APIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor_pool import DescriptorPool

from ndx_runtime.grpc_wrap import Around, wrap_handler

from .proxy import Gateway, LocalCall, Route


def upstream_routes(
    pool: DescriptorPool, upstreams: Mapping[str, str], channels: Mapping[str, grpc.aio.Channel]
) -> list[Route]:
    """A route per method of each upstream service; the service names must be in the pool."""
    routes = []
    for service_name in upstreams:
        try:
            service = pool.FindServiceByName(service_name)
        except KeyError:
            raise ValueError(
                f"upstreams: unknown service {service_name!r}; its contract is not compiled in"
            ) from None
        channel = channels[service_name]
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                raise ValueError(f"{method.full_name}: only unary methods can be proxied")
            routes.append(
                Route(
                    f"{service_name}/{method.name}",
                    message_factory.GetMessageClass(method.input_type),
                    message_factory.GetMessageClass(method.output_type),
                    upstream=channel.unary_unary(
                        f"/{service_name}/{method.name}",
                        request_serializer=None,
                        response_deserializer=None,
                    ),
                )
            )
    return routes


def local_route(pool: DescriptorPool, method: str, call: LocalCall) -> Route:
    service_name, _, name = method.partition("/")
    descriptor = pool.FindServiceByName(service_name).methods_by_name[name]
    return Route(
        method,
        message_factory.GetMessageClass(descriptor.input_type),
        message_factory.GetMessageClass(descriptor.output_type),
        local=call,
    )


class RouteTable(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Finds the handler of a call by its method path; unknown methods are UNIMPLEMENTED.
    Each handler runs inside `around` (the call metrics), wrapped once here: a server
    interceptor would wrap it again on every call."""

    def __init__(
        self, gateway: Gateway, routes: list[Route], *, around: Around | None = None
    ) -> None:
        self._around = around
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            f"/{r.method}": self._wrap(r.method, gateway.handler(r)) for r in routes
        }
        self.services = sorted({r.method.partition("/")[0] for r in routes})

    def add(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> None:
        """Serves `method` with a handler of its own (a server-streaming one, for instance)."""
        self.handlers[f"/{method}"] = self._wrap(method, handler)
        self.services = sorted({*self.services, method.partition("/")[0]})

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        if self._around is None:
            return handler
        return wrap_handler(handler, f"/{method}", self._around) or handler

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        return self.handlers.get(handler_call_details.method)
