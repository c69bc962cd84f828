"""Around every RPC: a server span joined to the caller's trace, a log line, errors as statuses;
and around calls to other services, a client span."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import grpc
import structlog
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .errors import DomainError
from .grpc_errors import DATABASE_UNAVAILABLE, status_for, unavailable
from .unreachable import database_unreachable

log = structlog.get_logger("ndx.rpc")
tracer = trace.get_tracer("ndx.rpc")


@asynccontextmanager
async def observe_call(
    method: str, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[None]:
    """Traces and logs one call; a DomainError becomes its rich status."""
    carrier = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
    started = time.perf_counter()
    with tracer.start_as_current_span(
        method.lstrip("/"),
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.method": method},
    ) as span:
        try:
            yield
        except DomainError as error:
            status = status_for(error)
            span.set_status(Status(StatusCode.ERROR, status.details))
            await context.abort(status.code, status.details, status.trailing_metadata)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            if not database_unreachable(error):
                log.exception("rpc failed", method=method)
                raise
            # An outage, not a bug: UNAVAILABLE (retry later) rather than UNKNOWN.
            log.warning("rpc failed: database unreachable", method=method, error=repr(error))
            status = unavailable("database", DATABASE_UNAVAILABLE)
            span.set_status(Status(StatusCode.ERROR, "database unreachable"))
            await context.abort(status.code, status.details, status.trailing_metadata)
        finally:
            code = context.code()
            span.set_attribute("rpc.grpc.status_code", code.value[0] if code else 0)
            log.debug(
                "rpc",
                method=method,
                code=code.name if code else "OK",
                ms=round((time.perf_counter() - started) * 1000, 2),
            )


@contextmanager
def client_span(method: str) -> Iterator[None]:
    """A call to another service ("package.Service/Method") as a CLIENT span of the current
    trace; inject the trace headers inside it. A failed call's span says its status code only
    (the details may name a citizen)."""
    service, _, name = method.partition("/")
    with tracer.start_as_current_span(
        method,
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except grpc.aio.AioRpcError as error:
            span.set_attribute("rpc.grpc.status_code", error.code().value[0])
            span.set_status(Status(StatusCode.ERROR, error.code().name))
            raise
        span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])
