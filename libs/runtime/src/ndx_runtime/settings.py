"""Settings shared by every NDX service; each service subclasses with its own env prefix.

Each field's docstring is its description in docs/configuration.md (`ndx docs config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common knobs. A service sets `env_prefix` (e.g. POPULATION_) in its own subclass."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    service_name: str = "ndx"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/service.db"
    """SQLAlchemy URL of the service's own database: `sqlite+aiosqlite:///FILE` or
    `postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB`."""
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    """Kafka brokers, `host:port[,host:port...]`; one cluster-wide variable, not prefixed."""
    grpc_host: str = "127.0.0.1"
    """Address the mTLS gRPC server binds to (`0.0.0.0` in a container)."""
    grpc_port: int = 50061
    """Port of the mTLS gRPC server (0: any free port)."""
    tls_cert_file: Path = Path(".ndx/pki/service.crt")
    """PEM certificate of this service, presented to callers and to the services it calls."""
    tls_key_file: Path = Path(".ndx/pki/service.key")
    """PEM private key of `tls_cert_file`."""
    tls_ca_file: Path = Path(".ndx/pki/ca.crt")
    """PEM CA bundle that peers' certificates must chain to."""
    allowed_identities: frozenset[str] = frozenset({"service/gateway"})
    """Peer identities (kind/name from the certificate's SPIFFE URI) allowed to call, as a
    JSON list."""
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        ),
    )
    """OTLP/gRPC endpoint of the trace collector; set, spans are exported there (the exporter
    reads its other OTEL_EXPORTER_OTLP_* variables itself). Standard variable, not prefixed."""
    log_level: str = "INFO"
    """Lowest level logged: DEBUG, INFO, WARNING, ERROR."""
    log_format: Literal["auto", "json", "console"] = "auto"
    """`json` (one object a line), `console` (for people), or `auto`: console on a terminal,
    JSON otherwise."""
    log_personal_data: bool = False
    """Let log lines carry personal data (citizen ids, names, addresses, officer ids); off,
    they are replaced by `[redacted]` at every level. For a test environment's debugging."""
    shutdown_grace_seconds: float = 10.0
    """Seconds in-flight RPCs get to finish after SIGTERM."""
    outbox_batch_size: int = 2000
    """Outbox rows the relay publishes per round."""
    outbox_poll_seconds: float = 0.5
    """How often the relay looks for outbox rows when no commit woke it."""
