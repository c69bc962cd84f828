"""docs/configuration.md, generated from the settings classes (`ndx docs`).

Names, types and defaults come from the classes as pydantic-settings reads them; descriptions
from the fields' docstrings. A setting without one fails the generation.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ndx_gateway.config import GatewaySettings
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from ndx_business.config import BusinessSettings
from ndx_land.config import LandSettings
from ndx_population.config import PopulationSettings
from ndx_runtime.settings import variables

from ..config import CliSettings
from ..stack.postgres import ENV_URL

# Who reads which class: (heading, settings class, the program reading it, fields it inherits
# but never uses: the gateway has no outbox, and admits agencies by its policy instead).
READERS: tuple[tuple[str, type[BaseSettings], str, frozenset[str]], ...] = (
    ("Population registry", PopulationSettings, "ndx-population", frozenset()),
    ("Land registry", LandSettings, "ndx-land", frozenset()),
    ("Business registry", BusinessSettings, "ndx-business", frozenset()),
    (
        "Gateway",
        GatewaySettings,
        "ndx-gateway",
        frozenset({"outbox_batch_size", "outbox_poll_seconds", "allowed_identities"}),
    ),
    ("Command line", CliSettings, "ndx", frozenset()),
)

# Read by the OpenTelemetry SDK and its OTLP exporter in every service (not by NDX code).
OTEL_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("OTEL_SERVICE_NAME", "the service's SERVICE_NAME", "`service.name` of every span."),
    (
        "OTEL_RESOURCE_ATTRIBUTES",
        "unset",
        "More resource attributes, `key=value,key=value` (e.g. `deployment.environment.name=prod`"
        "); a `service.name` here also wins over SERVICE_NAME.",
    ),
    (
        "OTEL_TRACES_SAMPLER",
        "`parentbased_always_on`",
        "Sampler: `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG keeps a fraction of "
        "traces, for services under heavy load.",
    ),
    ("OTEL_TRACES_SAMPLER_ARG", "unset", "The sampler's argument (a ratio, `0.01`)."),
    ("OTEL_SDK_DISABLED", "`false`", "`true` turns tracing off (trace context still flows)."),
    (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "unset",
        "Headers sent to the collector, `key=value,...` (also `..._TRACES_HEADERS`).",
    ),
    (
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "unset",
        "CA file of the collector's TLS certificate (also `..._CLIENT_CERTIFICATE`, "
        "`..._CLIENT_KEY` for mTLS, `..._INSECURE` for plaintext).",
    ),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "`10000`", "Milliseconds an export may take."),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "unset", "`gzip` compresses exports."),
    (
        "OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE",
        "`5000`, `2048`",
        "How often spans are exported, and how many may wait (more are dropped).",
    ),
    (
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        "`128`",
        "Links a span keeps: a consumed batch's span links to each record's trace.",
    ),
)

# Read by the local stack (`ndx up`, tests) outside any settings class.
STACK_VARIABLES: tuple[tuple[str, str, str], ...] = (
    (
        "KAFKA_BOOTSTRAP_SERVERS",
        "unset",
        "`ndx up` and the tests use this Kafka cluster instead of provisioning a local broker.",
    ),
    (
        ENV_URL,
        "unset",
        "PostgreSQL server (`postgresql+asyncpg://USER@HOST:PORT`) the tests create their "
        "databases on, instead of starting one under .ndx/postgres.",
    ),
    ("JAVA_HOME", "unset", "Java 17+ used to run the local Kafka broker (else `java` on PATH)."),
)

HEADER = """\
# Configuration reference

Generated from the settings classes by `make docs` (`ndx docs`); do not edit.

Every service reads environment variables with its own prefix (POPULATION_, LAND_, BUSINESS_,
GATEWAY_; the `ndx` command NDX_); names are case-insensitive. A few cluster-wide variables have
no prefix. Lists and maps are JSON (`'["service/gateway"]'`, `'{"a": "b"}'`); booleans are
`true`/`false`. Paths are relative to the working directory.
"""


@dataclass(frozen=True)
class Setting:
    names: tuple[str, ...]
    type: str
    default: str
    description: str


def description(cls: type[BaseSettings], name: str) -> str:
    """The field's docstring, from the class that last documented it."""
    for base in cls.__mro__:
        fields: dict[str, FieldInfo] = getattr(base, "model_fields", {})
        found = fields.get(name)
        if found is not None and found.description:
            return " ".join(found.description.split())
    raise LookupError(
        f"{cls.__name__}.{name} has no description: give the field a docstring "
        "(the configuration reference is generated from it)"
    )


def type_text(annotation: Any, field: FieldInfo | None = None) -> str:
    """A type as an operator would write it in a variable."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    text: str
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        text = f"{' or '.join(type_text(a) for a in rest)}, optional"
    elif origin is Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in args)
    elif origin is dict:
        text = "JSON object"
    elif origin in (list, set, frozenset, tuple):
        text = "JSON list"
    else:
        names = {bool: "bool", int: "integer", float: "number", str: "string", Path: "path"}
        text = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    for constraint in field.metadata if field is not None else ():
        for bound, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(constraint, bound, None)
            if value is not None:
                text += f" {sign} {value}"
    return text


def default_text(field: FieldInfo, root: Path) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "doc_default" in extra:
        return str(extra["doc_default"])
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        if value.is_absolute() and value.is_relative_to(root):
            # A file shipped with a package: named by its place in the repository.
            value = value.relative_to(root)
        return f"`{value}`"
    if isinstance(value, (frozenset, set)):
        return f"`{json.dumps(sorted(value))}`"
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def settings_of(
    cls: type[BaseSettings], root: Path, unused: frozenset[str] = frozenset()
) -> list[Setting]:
    return [
        Setting(
            variables(cls, name),
            type_text(field.annotation, field),
            default_text(field, root),
            description(cls, name),
        )
        for name, field in cls.model_fields.items()
        if name not in unused
    ]


def _prefixed(cls: type[BaseSettings], setting: Setting) -> bool:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    return any(n.startswith(prefix) for n in setting.names)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _named(rows: Iterable[tuple[str, str, str]]) -> Iterable[tuple[str, ...]]:
    for names, default, text in rows:
        yield ", ".join(f"`{n}`" for n in names.split(", ")), default, text


def render(root: Path) -> str:
    """The whole reference, as Markdown."""
    lines = [HEADER]
    shared: dict[tuple[str, ...], tuple[Setting, list[str]]] = {}
    for heading, cls, program, unused in READERS:
        prefix = str(cls.model_config.get("env_prefix", ""))
        own = []
        for setting in settings_of(cls, root, unused):
            if _prefixed(cls, setting):
                own.append(setting)
            else:
                shared.setdefault(setting.names, (setting, []))[1].append(program)
        lines += [f"## {heading} (`{program}`, prefix `{prefix}`)", ""]
        lines += _table(
            ("Variable", "Type", "Default", "Description"),
            (
                (", ".join(f"`{n}`" for n in s.names), s.type, s.default, s.description)
                for s in sorted(own, key=lambda s: s.names)
            ),
        )
        lines.append("")
    lines += ["## Cluster-wide (no prefix)", ""]
    lines += _table(
        ("Variable", "Type", "Default", "Read by", "Description"),
        (
            (
                ", ".join(f"`{n}`" for n in s.names),
                s.type,
                s.default,
                ", ".join(programs),
                s.description,
            )
            for s, programs in sorted(shared.values(), key=lambda v: v[0].names)
        ),
    )
    lines += [
        "",
        "## OpenTelemetry (read by the SDK in every service)",
        "",
        "Tracing is always on in the services; spans are exported when "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set.",
        "",
    ]
    lines += _table(("Variable", "Default", "Description"), _named(OTEL_VARIABLES))
    lines += ["", "## Local stack and tests", ""]
    lines += _table(("Variable", "Default", "Description"), _named(STACK_VARIABLES))
    lines.append("")
    return "\n".join(lines)
