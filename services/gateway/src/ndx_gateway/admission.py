"""What every call through the gateway starts and ends with, lookups and feeds alike: who is
calling (the certificate), why (purpose and officer), whether the policy and the quota let
them, and the audit record of the decision, written before the caller gets anything."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.grpc_errors import bad_request, resource_exhausted, rich_status
from ndx_runtime.revocation import Revocations
from ndx_runtime.tls import Identity, identity_from_pem, peer_certificate, revoked_message

from .audit.log import AuditLog, AuditUnavailable
from .policy import Decision, Grant, Policy
from .policy_source import PolicySource
from .quota import Quotas

PURPOSE = "x-ndx-purpose"
OFFICER = "x-ndx-officer"
AGENCY = "x-ndx-agency"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")

AUDIT_DOWN = "the audit log cannot be written at the moment; calls are refused until it can"
NOT_AUDITED = (
    "the audit record of this call could not be written, so the call is refused: "
    "there is no access without audit"
)

tracer = trace.get_tracer("ndx.gateway")

# Which decision a call needs: (policy, agency, purpose) -> decision.
Decide = Callable[[Policy, str, str], Decision]


@dataclass(frozen=True, slots=True)
class Caller:
    agency: str
    purpose: str
    officer: str
    grant: Grant


class Refused(Exception):
    """The gateway refuses the call with `status`; it is audited as a denial."""

    def __init__(
        self,
        status: grpc.Status,
        denied: tuple[str, ...] | list[str] = (),
        decision: audit_pb2.Decision.ValueType = audit_pb2.DECISION_DENY,
    ) -> None:
        self.status = status
        self.denied = denied
        self.decision = decision
        super().__init__(status.details)


class FailClosed(Exception):
    """Raised when the audit record was not written; becomes UNAVAILABLE for the caller."""


def carrier_of(context: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    """The call's text metadata (purpose, officer, trace context)."""
    return {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}


@contextmanager
def server_span(method: str, carrier: Mapping[str, str]) -> Iterator[audit_pb2.AuditRecord]:
    """The call's span (continuing the caller's trace) and its audit record, stamped with
    the time and the trace id."""
    with tracer.start_as_current_span(
        method,
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.method": method},
    ) as span:
        record = audit_pb2.AuditRecord(method=method)
        record.time.FromNanoseconds(time.time_ns())
        span_context = span.get_span_context()
        # Without tracing configured and no caller trace, the record still gets an id.
        trace_id = span_context.trace_id if span_context.is_valid else _new_trace_id()
        record.trace_id = format(trace_id, "032x")
        yield record


async def seal(
    audit: AuditLog,
    record: audit_pb2.AuditRecord,
    subjects: Mapping[tuple[str, str], None],
    code: grpc.StatusCode,
    reason: str,
    *,
    decided: bool = True,
) -> None:
    """Completes the record with the outcome and writes it; FailClosed when Kafka did not
    take it. `decided` is False for a feed batch, delivered under a decision counted once."""
    if decided:
        audit.metrics.decided(record)
    record.status = code.name
    if reason:
        record.reason = reason[:500]
    add = record.subjects.add
    for kind, subject in subjects:
        add(kind=kind, id=subject)
    try:
        await audit.write(record)
    except AuditUnavailable:
        raise FailClosed() from None


async def refuse(
    context: grpc.aio.ServicerContext[Any, Any],
    audit: AuditLog,
    record: audit_pb2.AuditRecord,
    subjects: Mapping[tuple[str, str], None],
    refusal: Refused,
) -> NoReturn:
    """Audits the refusal, then ends the call with its status and details."""
    record.decision = refusal.decision
    record.fields_denied.extend(refusal.denied)
    status = refusal.status
    await seal(audit, record, subjects, status.code, status.details)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("abort returned")


class Admission:
    """Identity, purpose, officer, policy decision and quota of a call."""

    def __init__(
        self, policy: PolicySource, quotas: Quotas, revocations: Revocations | None = None
    ) -> None:
        self.policy = policy
        self.quotas = quotas
        self.revocations = revocations

    def identify(
        self, context: grpc.aio.ServicerContext[Any, Any], record: audit_pb2.AuditRecord
    ) -> Identity:
        """The caller's certificate identity; Refused if the certificate names none or is
        revoked. The record names the certificate's identity either way."""
        pem = peer_certificate(context)
        identity = None if pem is None else identity_from_pem(pem)
        if identity is not None:
            record.agency = identity.name if identity.kind == "agency" else identity.principal
        if pem is not None and self.revocations is not None and self.revocations.is_revoked(pem):
            raise Refused(
                rich_status(
                    grpc.StatusCode.UNAUTHENTICATED,
                    revoked_message(pem),
                    reason="CERTIFICATE_REVOKED",
                )
            )
        if identity is None:
            raise Refused(
                rich_status(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "no NDX identity in the certificate: it needs exactly one URI SAN "
                    "spiffe://ndx.local/agency/<name>",
                    reason="NO_IDENTITY",
                )
            )
        return identity

    def admit(
        self,
        identity: Identity,
        record: audit_pb2.AuditRecord,
        *,
        method: str,
        purpose: str,
        officer: str,
        decide: Decide | None = None,
    ) -> Caller:
        """Checks purpose and officer, asks the policy (`decide`, by default: may the agency
        call `method` for the purpose) and takes one call from the quota; Refused otherwise."""
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
        if decide is None:
            decision = policy.decide(identity.name, purpose, method)
        else:
            decision = decide(policy, identity.name, purpose)
        if not decision.allowed or decision.grant is None:
            raise Refused(denial(identity.name, purpose, method, decision, policy.version))
        record.reason = decision.rule
        record.decision = audit_pb2.DECISION_ALLOW
        wait = self.quotas.take((identity.name, purpose), decision.grant.quota)
        if wait:
            raise Refused(_quota_exhausted(identity.name, purpose, decision.grant, wait))
        return Caller(identity.name, purpose, officer, decision.grant)


def denial(agency: str, purpose: str, method: str, decision: Decision, version: str) -> grpc.Status:
    """PERMISSION_DENIED with an ErrorInfo naming agency, purpose, method and rule."""
    return rich_status(
        grpc.StatusCode.PERMISSION_DENIED,
        f"{agency}: {decision.reason} (policy {version}, {decision.rule})",
        reason=decision.code,
        metadata={
            "agency": agency,
            "purpose": purpose,
            "method": method,
            "rule": decision.rule,
            "policy_version": version,
        },
    )


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
    return resource_exhausted(
        f"quota of {agency} for {purpose!r} used up: {quota.requests} calls per "
        f"{quota.per_seconds} s; retry in {wait:.2f} s",
        retry_after=wait,
        subject=f"{agency}/{purpose}",
        limit=f"{quota.requests} calls per {quota.per_seconds} s",
        reason="QUOTA_EXHAUSTED",
    )
