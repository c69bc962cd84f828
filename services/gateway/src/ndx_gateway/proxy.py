"""One call through the gateway: who is calling and why, what the policy allows, the call to
the registry, the response cut to the granted fields, and the audit record, written before
the caller gets anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2
from opentelemetry import propagate

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.errors import DomainError
from ndx_runtime.grpc_errors import bad_request, rich_status, status_for
from ndx_runtime.grpc_observe import client_span

from .admission import (
    AGENCY,
    AUDIT_DOWN,
    NOT_AUDITED,
    OFFICER,
    PURPOSE,
    Admission,
    Caller,
    FailClosed,
    Refused,
    carrier_of,
    refuse,
    seal,
    server_span,
)
from .audit.log import AuditLog
from .masks import masks_of
from .policy import Grant, Policy, cut
from .subjects import collect
from .upstream_limit import InFlightLimit, upstream_busy

REDACTED = "x-ndx-redacted"
_FORWARDED = ("traceparent", "tracestate")

Metadata = Sequence[tuple[str, str | bytes]]
LocalCall = Callable[[Message, Caller], Awaitable[Message]]


@dataclass(frozen=True, slots=True)
class Route:
    """A method the gateway serves: forwarded upstream (`upstream`) or answered here (`local`)."""

    method: str  # "ndx.population.v1.PopulationService/GetCitizen"
    request_cls: type[Message]
    response_cls: type[Message]
    upstream: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] | None = None
    local: LocalCall | None = None


class Gateway:
    def __init__(
        self,
        admission: Admission,
        audit: AuditLog,
        *,
        upstream_timeout: float,
        in_flight: InFlightLimit,
    ) -> None:
        """`upstream_timeout` caps the deadline of a call to a registry (the caller's, or none);
        `in_flight` bounds the calls in flight to each registry service."""
        self.admission = admission
        self.policy = admission.policy
        self.audit = audit
        self.upstream_timeout = upstream_timeout
        self.in_flight = in_flight

    def handler(self, route: Route) -> grpc.RpcMethodHandler[bytes, bytes]:
        """A raw-bytes handler: requests are parsed here, and responses re-encoded only when
        fields had to be removed."""

        async def behaviour(raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return await self.handle(route, raw, context)

        return grpc.unary_unary_rpc_method_handler(behaviour)

    async def handle(
        self, route: Route, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> bytes:
        if not self.audit.healthy():
            await context.abort(grpc.StatusCode.UNAVAILABLE, AUDIT_DOWN)
        try:
            return await self._handle(route, raw, context)
        except FailClosed:
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_AUDITED)
        raise AssertionError("unreachable")

    async def _handle(
        self, route: Route, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> bytes:
        carrier = carrier_of(context)
        with server_span(route.method, carrier) as record:
            subjects: dict[tuple[str, str], None] = {}
            try:
                data, trailers = await self._serve(route, raw, context, carrier, record, subjects)
            except Refused as refusal:
                await refuse(context, self.audit, record, subjects, refusal)
            except grpc.aio.AioRpcError as error:
                # The registry's own answer (NOT_FOUND, INVALID_ARGUMENT, ...), passed on as is.
                await seal(self.audit, record, subjects, error.code(), error.details() or "")
                await context.abort(
                    error.code(), error.details() or "", _metadata(error.trailing_metadata())
                )
            await seal(self.audit, record, subjects, grpc.StatusCode.OK, "")
            if trailers:
                context.set_trailing_metadata(trailers)
            return data

    async def _serve(
        self,
        route: Route,
        raw: bytes,
        context: grpc.aio.ServicerContext[bytes, bytes],
        carrier: dict[str, str],
        record: audit_pb2.AuditRecord,
        subjects: dict[tuple[str, str], None],
    ) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        identity = self.admission.identify(context, record)
        caller = self.admission.admit(
            identity,
            record,
            method=route.method,
            purpose=carrier.get(PURPOSE, ""),
            officer=carrier.get(OFFICER, ""),
        )
        policy = self.policy.current
        try:
            request = route.request_cls.FromString(raw)
        except DecodeError:
            raise Refused(
                bad_request([("request", f"not a valid {route.request_cls.DESCRIPTOR.full_name}")])
            ) from None
        collect(request, subjects)
        self._check_masks(policy, caller.grant, route.method, request)
        if route.local is not None:
            try:
                response = await route.local(request, caller)
            except DomainError as error:
                # Allowed, but the request itself was wrong (a bad id, a stale page token).
                raise Refused(status_for(error), decision=audit_pb2.DECISION_ALLOW) from None
            data = b""
        else:
            data = await self._forward(route, raw, context, caller)
            response = route.response_cls.FromString(data)
        projection = cut(response, policy.resources, caller.grant.read)
        collect(response, subjects)
        record.fields_returned.extend(sorted(projection.kept))
        if not projection.removed and data:
            return data, ()
        removed = sorted(projection.removed)
        record.fields_denied.extend(removed)
        trailers = ((REDACTED, ",".join(removed)),) if removed else ()
        return response.SerializeToString(), trailers

    async def _forward(
        self,
        route: Route,
        raw: bytes,
        context: grpc.aio.ServicerContext[bytes, bytes],
        caller: Caller,
    ) -> bytes:
        """The registry's answer, within the caller's deadline capped by `upstream_timeout`;
        Refused at once when the registry service has all its in-flight slots taken."""
        assert route.upstream is not None
        upstream = route.method.partition("/")[0]
        if not self.in_flight.enter(upstream):
            busy = upstream_busy(upstream, self.in_flight.limit)
            raise Refused(busy, decision=audit_pb2.DECISION_ALLOW)
        try:
            remaining = context.time_remaining()
            timeout = self.upstream_timeout
            if remaining is not None:
                timeout = min(remaining, timeout)
            outgoing = [
                (AGENCY, caller.agency),
                (PURPOSE, caller.purpose),
                (OFFICER, caller.officer),
            ]
            with client_span(route.method):
                propagate.inject(_Setter(outgoing))
                return await route.upstream(raw, metadata=outgoing, timeout=timeout)
        finally:
            self.in_flight.leave(upstream)

    def _check_masks(self, policy: Policy, grant: Grant, method: str, request: Message) -> None:
        registry = policy.registry_of(method)
        if registry is None:
            return
        masks = masks_of(request)
        resource = registry.resource
        readable = policy.readable(grant, resource)
        not_readable = sorted(p for p in masks.read if not readable.grants(p.split(".")))
        not_claimable = sorted(
            p for p in masks.claim if not policy.claimable(grant, resource, p.split("."))
        )
        for paths, what, mask in (
            (not_readable, "read", "read_mask"),
            (not_claimable, "verify", "claim_mask"),
        ):
            if paths:
                full = [f"{resource}.{p}" for p in paths]
                raise Refused(
                    rich_status(
                        grpc.StatusCode.PERMISSION_DENIED,
                        f"purpose {grant.purpose!r} of {grant.agency} does not let it {what} "
                        f"{', '.join(full)}",
                        error_details_pb2.BadRequest(
                            field_violations=[
                                error_details_pb2.BadRequest.FieldViolation(
                                    field=f"{mask}.paths", description=f"{p}: not granted"
                                )
                                for p in full
                            ]
                        ),
                        reason="FIELDS_NOT_GRANTED",
                        metadata={"fields": ",".join(full), "rule": grant.location},
                    ),
                    denied=full,
                )


class _Setter:
    """Lets OpenTelemetry inject trace headers into outgoing gRPC metadata."""

    def __init__(self, into: list[tuple[str, str]]) -> None:
        self.into = into

    def __setitem__(self, key: str, value: str) -> None:
        if key in _FORWARDED:
            self.into.append((key, value))


def _metadata(trailers: object) -> tuple[tuple[str, str | bytes], ...]:
    """An upstream's trailing metadata (with its grpc-status-details-bin), passed on."""
    return tuple((str(k), v) for k, v in (trailers or ()))  # type: ignore[attr-defined]
