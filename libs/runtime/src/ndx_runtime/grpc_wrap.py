"""Wrapping gRPC method handlers so that code runs around every call with its real context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

Around = Callable[[str, grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]


def wrap_handler(
    handler: grpc.RpcMethodHandler[Any, Any] | None, method: str, around: Around
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """Returns `handler` with each call run inside `around(method, context)`."""
    if handler is None:
        return None
    if handler.unary_unary is not None:
        inner_uu: Any = handler.unary_unary

        async def unary_unary(request: Any, context: Any) -> Any:
            async with around(method, context):
                return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream is not None:
        inner_us: Any = handler.unary_stream

        async def unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            async with around(method, context):
                async for item in inner_us(request, context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary is not None:
        inner_su: Any = handler.stream_unary

        async def stream_unary(requests: Any, context: Any) -> Any:
            async with around(method, context):
                return await inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, handler.request_deserializer, handler.response_serializer
        )
    inner_ss: Any = handler.stream_stream

    async def stream_stream(requests: Any, context: Any) -> AsyncIterator[Any]:
        async with around(method, context):
            async for item in inner_ss(requests, context):
                yield item

    return grpc.stream_stream_rpc_method_handler(
        stream_stream, handler.request_deserializer, handler.response_serializer
    )


class AroundInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """A server interceptor made of one `around` function."""

    def __init__(self, around: Around) -> None:
        self._around = around

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        # grpc accepts None here (no such method); the stubs do not say so.
        return wrap_handler(handler, handler_call_details.method, self._around)  # type: ignore[return-value]
