"""One call through the gateway: who is calling and why, what the policy allows, the call to
the registry, the response cut to the granted fields, and the audit record, written before
the caller gets anything."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.errors import DomainError
from ndx_runtime.grpc_errors import bad_request, rich_status, status_for
from ndx_runtime.tls import Identity, peer_identity

from .audit.log import AuditLog, AuditUnavailable
from .masks import masks_of
from .policy import Grant, Policy, cut
from .policy_source import PolicySource
from .quota import Quotas
from .subjects import collect

PURPOSE = "x-ndx-purpose"
OFFICER = "x-ndx-officer"
AGENCY = "x-ndx-agency"
REDACTED = "x-ndx-redacted"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
_FORWARDED = ("traceparent", "tracestate")

tracer = trace.get_tracer("ndx.gateway")

Metadata = Sequence[tuple[str, str | bytes]]
LocalCall = Callable[[Message, "Caller"], Awaitable[Message]]


@dataclass(frozen=True, slots=True)
class Caller:
    agency: str
    purpose: str
    officer: str
    grant: Grant


@dataclass(frozen=True, slots=True)
class Route:
    """A method the gateway serves: forwarded upstream (`upstream`) or answered here (`local`)."""

    method: str  # "ndx.population.v1.PopulationService/GetCitizen"
    request_cls: type[Message]
    response_cls: type[Message]
    upstream: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] | None = None
    local: LocalCall | None = None


class Refused(Exception):
    """The gateway refuses the call with `status`; it is audited as a denial."""

    def __init__(
        self,
        status: grpc.Status,
        denied: Sequence[str] = (),
        decision: audit_pb2.Decision.ValueType = audit_pb2.DECISION_DENY,
    ) -> None:
        self.status = status
        self.denied = denied
        self.decision = decision
        super().__init__(status.details)


class Gateway:
    def __init__(
        self,
        policy: PolicySource,
        audit: AuditLog,
        quotas: Quotas,
        *,
        upstream_timeout: float,
    ) -> None:
        self.policy = policy
        self.audit = audit
        self.quotas = quotas
        self.upstream_timeout = upstream_timeout

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
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "the audit log cannot be written at the moment; calls are refused until it can",
            )
        try:
            return await self._handle(route, raw, context)
        except _FailClosed:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "the audit record of this call could not be written, so the call is refused: "
                "there is no access without audit",
            )
        raise AssertionError("unreachable")

    async def _handle(
        self, route: Route, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> bytes:
        metadata = context.invocation_metadata() or ()
        carrier = {k: v for k, v in metadata if isinstance(v, str)}
        with tracer.start_as_current_span(
            route.method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.method": route.method},
        ) as span:
            record = audit_pb2.AuditRecord(method=route.method)
            record.time.FromNanoseconds(time.time_ns())
            span_context = span.get_span_context()
            # Without tracing configured and no caller trace, the record still gets an id.
            trace_id = span_context.trace_id if span_context.is_valid else _new_trace_id()
            record.trace_id = format(trace_id, "032x")
            subjects: dict[tuple[str, str], None] = {}
            try:
                data, trailers = await self._serve(route, raw, context, carrier, record, subjects)
            except Refused as refusal:
                record.decision = refusal.decision
                record.fields_denied.extend(refusal.denied)
                await self._finish(record, subjects, refusal.status.code, refusal.status.details)
                await context.abort(
                    refusal.status.code, refusal.status.details, refusal.status.trailing_metadata
                )
            except grpc.aio.AioRpcError as error:
                # The registry's own answer (NOT_FOUND, INVALID_ARGUMENT, ...), passed on as is.
                await self._finish(record, subjects, error.code(), error.details() or "")
                await context.abort(
                    error.code(), error.details() or "", _metadata(error.trailing_metadata())
                )
            await self._finish(record, subjects, grpc.StatusCode.OK, "")
            if trailers:
                context.set_trailing_metadata(trailers)
            return data

    async def _finish(
        self,
        record: audit_pb2.AuditRecord,
        subjects: dict[tuple[str, str], None],
        code: grpc.StatusCode,
        reason: str,
    ) -> None:
        record.status = code.name
        if reason:
            record.reason = reason[:500]
        add = record.subjects.add
        for kind, subject in subjects:
            add(kind=kind, id=subject)
        try:
            await self.audit.write(record)
        except AuditUnavailable:
            raise _FailClosed() from None

    async def _serve(
        self,
        route: Route,
        raw: bytes,
        context: grpc.aio.ServicerContext[bytes, bytes],
        carrier: dict[str, str],
        record: audit_pb2.AuditRecord,
        subjects: dict[tuple[str, str], None],
    ) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        caller = self._caller(route, context, carrier, record)
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
            assert route.upstream is not None
            remaining = context.time_remaining()
            outgoing = [
                (AGENCY, caller.agency),
                (PURPOSE, caller.purpose),
                (OFFICER, caller.officer),
            ]
            propagate.inject(_Setter(outgoing))
            data = await route.upstream(
                raw,
                metadata=outgoing,
                timeout=remaining if remaining is not None else self.upstream_timeout,
            )
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

    def _caller(
        self,
        route: Route,
        context: grpc.aio.ServicerContext[bytes, bytes],
        carrier: dict[str, str],
        record: audit_pb2.AuditRecord,
    ) -> Caller:
        identity = peer_identity(context)
        if identity is None:
            raise Refused(
                rich_status(grpc.StatusCode.UNAUTHENTICATED, "no NDX identity in the certificate")
            )
        record.agency = identity.name if identity.kind == "agency" else identity.principal
        purpose, officer = carrier.get(PURPOSE, ""), carrier.get(OFFICER, "")
        record.purpose, record.officer = purpose[:64], officer[:64]
        if identity.kind != "agency":
            raise Refused(_not_an_agency(identity))
        problems = [
            (key, problem)
            for key, value, what in (
                (PURPOSE, purpose, "the purpose (procedure) code the call is made for"),
                (OFFICER, officer, "the id of the officer making the call"),
            )
            if (problem := _check_code(value, what)) is not None
        ]
        if problems:
            raise Refused(bad_request(problems))
        policy = self.policy.current
        record.policy_version = policy.version
        decision = policy.decide(identity.name, purpose, route.method)
        if not decision.allowed or decision.grant is None:
            raise Refused(
                rich_status(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{identity.name}: {decision.reason} (policy {policy.version}, "
                    f"{decision.rule})",
                    reason=decision.code,
                    metadata={
                        "agency": identity.name,
                        "purpose": purpose,
                        "method": route.method,
                        "rule": decision.rule,
                        "policy_version": policy.version,
                    },
                )
            )
        record.reason = decision.rule
        record.decision = audit_pb2.DECISION_ALLOW
        wait = self.quotas.take((identity.name, purpose), decision.grant.quota)
        if wait:
            raise Refused(_quota_exhausted(identity.name, purpose, decision.grant, wait))
        return Caller(identity.name, purpose, officer, decision.grant)

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


class _FailClosed(Exception):
    """Raised when the audit record was not written; becomes UNAVAILABLE for the caller."""


class _Setter:
    """Lets OpenTelemetry inject trace headers into outgoing gRPC metadata."""

    def __init__(self, into: list[tuple[str, str]]) -> None:
        self.into = into

    def __setitem__(self, key: str, value: str) -> None:
        if key in _FORWARDED:
            self.into.append((key, value))


def _new_trace_id() -> int:
    return secrets.randbits(128) or 1


def _check_code(value: str, what: str) -> str | None:
    if not value:
        return f"required: {what}"
    if not _CODE.fullmatch(value):
        return (
            "1 to 64 characters: letters, digits and . _ : @ / - (starting with a letter or digit)"
        )
    return None


def _not_an_agency(identity: Identity) -> grpc.Status:
    return rich_status(
        grpc.StatusCode.PERMISSION_DENIED,
        f"{identity.principal} is not an agency; the gateway serves agencies only",
        reason="NOT_AN_AGENCY",
    )


def _quota_exhausted(agency: str, purpose: str, grant: Grant, wait: float) -> grpc.Status:
    quota = grant.quota
    assert quota is not None
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(wait * 1e9) + 1)
    return rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"quota of {agency} for {purpose!r} used up: {quota.requests} calls per "
        f"{quota.per_seconds} s; retry in {wait:.2f} s",
        error_details_pb2.RetryInfo(retry_delay=delay),
        error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=f"{agency}/{purpose}",
                    description=f"{quota.requests} calls per {quota.per_seconds} s",
                )
            ]
        ),
        reason="QUOTA_EXHAUSTED",
    )


def _metadata(trailers: object) -> tuple[tuple[str, str | bytes], ...]:
    """An upstream's trailing metadata (with its grpc-status-details-bin), passed on."""
    return tuple((str(k), v) for k, v in (trailers or ()))  # type: ignore[attr-defined]
