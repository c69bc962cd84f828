"""Settings shared by every NDX service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common knobs. A service sets `env_prefix` (e.g. POPULATION_) in its own subclass."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "ndx"
    database_url: str = "sqlite+aiosqlite:///.ndx/data/service.db"
    # The cluster-wide variable is honoured when the prefixed one is not set.
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50061
    # Certificates of this service; the CA is the one its peers' certificates chain to.
    tls_cert_file: Path = Path(".ndx/pki/service.crt")
    tls_key_file: Path = Path(".ndx/pki/service.key")
    tls_ca_file: Path = Path(".ndx/pki/ca.crt")
    # Peer identities (kind/name from the certificate's SPIFFE URI) allowed to call.
    allowed_identities: frozenset[str] = frozenset({"service/gateway"})
    # Set by the standard OTel variable; the exporter reads its other OTEL_* variables itself.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        ),
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    # Prometheus /metrics over HTTP on grpc_host; None: not served, 0: any free port (logged).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Seconds in-flight RPCs get to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    outbox_batch_size: int = 2000
    outbox_poll_seconds: float = 0.5
