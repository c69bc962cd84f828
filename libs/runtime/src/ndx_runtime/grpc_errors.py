"""Business-rule errors as google.rpc.Status with details (ErrorInfo, BadRequest, ...)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
    RuleBroken,
    StaleVersion,
    Unavailable,
)

DOMAIN = "ndx.gov.vn"


def rich_status(
    code: grpc.StatusCode,
    message: str,
    *details: Message,
    reason: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> grpc.Status:
    """A grpc.Status carrying google.rpc.Status details in the grpc-status-details-bin trailer."""
    info = error_details_pb2.ErrorInfo(
        reason=reason or code.name, domain=DOMAIN, metadata=dict(metadata or {})
    )
    packed = []
    for detail in (info, *details):
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=packed)
    return rpc_status.to_status(status)


def bad_request(violations: list[tuple[str, str]], message: str | None = None) -> grpc.Status:
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations
        ]
    )
    text = message or "; ".join(f"{f}: {d}" for f, d in violations)
    return rich_status(grpc.StatusCode.INVALID_ARGUMENT, text, detail)


def resource_exhausted(
    message: str,
    *,
    retry_after: float,
    subject: str,
    limit: str,
    reason: str,
    metadata: Mapping[str, str] | None = None,
) -> grpc.Status:
    """RESOURCE_EXHAUSTED for a limit that `subject` reached (its QuotaFailure describes the
    limit), with the RetryInfo of when to try again (rounded up: never before it may)."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(math.ceil(retry_after * 1e9))
    return rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        error_details_pb2.RetryInfo(retry_delay=delay),
        error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(subject=subject, description=limit)
            ]
        ),
        reason=reason,
        metadata=metadata,
    )


def status_for(error: DomainError) -> grpc.Status:
    """Maps a business-rule error to the status an agency can act on."""
    if isinstance(error, InvalidInput):
        return bad_request([(v.field, v.description) for v in error.violations])
    if isinstance(error, NotFound):
        info = error_details_pb2.ResourceInfo(
            resource_type=error.kind, resource_name=error.key, description=str(error)
        )
        return rich_status(grpc.StatusCode.NOT_FOUND, str(error), info)
    if isinstance(error, AlreadyExists):
        info = error_details_pb2.ResourceInfo(resource_type=error.kind, resource_name=error.key)
        return rich_status(grpc.StatusCode.ALREADY_EXISTS, str(error), info)
    if isinstance(error, StaleVersion):
        return rich_status(
            grpc.StatusCode.ABORTED,
            str(error),
            reason="STALE_VERSION",
            metadata={"expected_version": str(error.expected), "version": str(error.actual)},
        )
    if isinstance(error, RuleBroken):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type="RULE", subject=error.field, description=error.description
                )
            ]
        )
        return rich_status(grpc.StatusCode.FAILED_PRECONDITION, str(error), failure)
    if isinstance(error, Unavailable):
        return unavailable(error.dependency, str(error))
    return rich_status(grpc.StatusCode.INTERNAL, "internal error")


def unavailable(dependency: str, message: str) -> grpc.Status:
    """UNAVAILABLE because `dependency` cannot answer now: the caller may try again later."""
    return rich_status(
        grpc.StatusCode.UNAVAILABLE,
        message,
        reason="DEPENDENCY_UNAVAILABLE",
        metadata={"dependency": dependency},
    )


# What a caller is told when the service's own database is away; the driver's words (hosts,
# ports) go to the log, not to callers.
DATABASE_UNAVAILABLE = (
    "the service's database cannot be reached at the moment; try again later "
    "(a write cut off while committing may have been stored)"
)


def details_of(error: grpc.aio.AioRpcError | grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status an error carries, if any (for clients and tests)."""
    return rpc_status.from_call(error)  # type: ignore[arg-type]


def bad_request_fields(error: grpc.aio.AioRpcError | grpc.RpcError) -> set[str]:
    """The field paths an INVALID_ARGUMENT error names in its BadRequest details."""
    status = details_of(error)
    fields: set[str] = set()
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            fields |= {v.field for v in request.field_violations}
    return fields
