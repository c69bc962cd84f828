"""structlog set-up: JSON off a terminal, pretty on one, trace and span ids in every line, and
no personal data unless the operator allows it."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

import structlog
from opentelemetry import trace

if TYPE_CHECKING:
    from .settings import ServiceSettings

REDACTED = "[redacted]"

# Values under these keys are personal data wherever they appear in a log line.
PERSONAL_KEYS = frozenset(
    {
        "citizen_id",
        "citizen_ids",
        "subject",
        "subjects",
        "key",  # a change event's key is the entity id: a citizen id on the citizen topic
        "full_name",
        "name",
        "officer",
        "officer_id",
        "address",
        "permanent_address",
        "current_address",
        "date_of_birth",
        "date_of_death",
        "phone",
        "email",
        "holder",
        "holders",
        "representative",
        "parcel_id",
        "request",
        "response",
    }
)
# A national id number: 12 digits standing alone.
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
# Added by the logging set-up itself; a trace id can hold a run of 12 digits.
_OWN_KEYS = frozenset({"timestamp", "level", "logger", "service", "trace_id", "span_id"})


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"] = format(ctx.trace_id, "032x")
        event["span_id"] = format(ctx.span_id, "016x")
    return event


def redact_personal_data(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Replaces the values of personal keys, and national id numbers anywhere in the line
    (message, values, exception text), with a marker."""
    for key, value in event.items():
        if key in PERSONAL_KEYS:
            event[key] = REDACTED
        elif key not in _OWN_KEYS:
            event[key] = _scrub(value)
    return event


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _NATIONAL_ID.sub(REDACTED, value) if len(value) >= 12 else value
    if isinstance(value, dict):
        return {_scrub(k): REDACTED if k in PERSONAL_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub(v) for v in value]
    return value


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    service: str | None = None,
    *,
    personal_data: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Configures structlog and routes the standard library's logging through it. Unless
    `personal_data`, personal data is redacted from every line, at every level: debug logging
    is what gets turned on in production when something goes wrong."""
    out = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
    ]
    if service:
        shared.insert(0, _static("service", service))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    # Exceptions are rendered to text first, so that the redaction sees their messages too.
    final: list[Any] = [structlog.processors.format_exc_info]
    if not personal_data:
        final.append(redact_personal_data)
    structlog.configure(
        processors=[*shared, *final, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *final,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO (every metadata refresh, every rebalance step).
    for noisy in ("aiokafka", "kafka", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _static(key: str, value: str) -> Any:
    def add(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault(key, value)
        return event

    return add


def configure_service_logging(settings: ServiceSettings) -> None:
    """Logging as a service's settings say: level, format, name, personal data or not."""
    configure_logging(
        settings.log_level,
        settings.log_format,
        settings.service_name,
        personal_data=settings.log_personal_data,
    )
