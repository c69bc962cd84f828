"""Settings shared by every NDX service; each service subclasses with its own env prefix.

Each field's docstring is its description in docs/configuration.md (`ndx docs config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kafka_connection import DEFAULT_BOOTSTRAP, KafkaConnection


def variables(cls: type[BaseSettings], name: str) -> tuple[str, ...]:
    """The environment variables pydantic-settings reads for field `name` of `cls`: its
    aliases, else the class's prefix and the name (upper case, the preferred one first)."""
    field = cls.model_fields[name]
    alias = field.validation_alias or field.alias
    if isinstance(alias, AliasChoices):
        choices = [c for c in alias.choices if isinstance(c, str)]
    elif isinstance(alias, str):
        choices = [alias]
    else:
        choices = [str(cls.model_config.get("env_prefix", "")) + name]
    return tuple(dict.fromkeys(c.upper() for c in choices))


def _cluster_wide(name: str, default: Any) -> Any:
    """A field read from the unprefixed variable NAME (or given by its name in code)."""
    return Field(default=default, validation_alias=AliasChoices(name, name.upper()))


class ServiceSettings(BaseSettings):
    """Common knobs. A service sets `env_prefix` (e.g. POPULATION_) in its own subclass."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    service_name: str = "ndx"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/service.db"
    """SQLAlchemy URL of the service's own database: `sqlite+aiosqlite:///FILE` or
    `postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB`."""
    # The Kafka cluster: cluster-wide KAFKA_* variables, no service prefix (kafka_connection.py).
    kafka_bootstrap_servers: str = _cluster_wide("kafka_bootstrap_servers", DEFAULT_BOOTSTRAP)
    """Kafka brokers, `host:port[,host:port...]`; one cluster-wide variable, not prefixed."""
    kafka_security_protocol: str = _cluster_wide("kafka_security_protocol", "PLAINTEXT")
    """`PLAINTEXT` or `SSL` (TLS, with a client certificate when the cluster asks for one)."""
    kafka_ssl_ca_file: Path | None = _cluster_wide("kafka_ssl_ca_file", None)
    """PEM CA bundle the brokers' certificates chain to (with Strimzi: `ca.crt` of the
    `<cluster>-cluster-ca-cert` secret). Required with SSL."""
    kafka_ssl_cert_file: Path | None = _cluster_wide("kafka_ssl_cert_file", None)
    """PEM client certificate presented to the brokers (Strimzi KafkaUser secret: `user.crt`)."""
    kafka_ssl_key_file: Path | None = _cluster_wide("kafka_ssl_key_file", None)
    """Unencrypted PEM key of `kafka_ssl_cert_file` (Strimzi KafkaUser secret: `user.key`)."""
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
    tls_crl_file: Path | None = None
    """PEM certificate revocation list(s), each signed by a CA of `tls_ca_file`: callers whose
    certificate is listed are refused (UNAUTHENTICATED). Read again when the file changes
    (checked at most once a second); unset: no revocation check."""
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
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """Port of the Prometheus `/metrics` HTTP endpoint on `grpc_host`; unset: not served, 0: any
    free port (logged)."""
    shutdown_grace_seconds: float = 10.0
    """Seconds in-flight RPCs get to finish after SIGTERM."""
    health_port: int | None = None
    """Port of a plaintext gRPC server answering only grpc.health.v1, for probes (Kubernetes'
    gRPC probe presents no client certificate): service "" is liveness, "readiness" is SERVING
    while the database answers and the schema is at head (the gateway's also while Kafka
    answers; a registry's outbox holds its events while Kafka is away). Unset: off."""
    readiness_interval_seconds: float = Field(default=5.0, gt=0)
    """Seconds between readiness checks (database, schema at head; Kafka for the gateway)."""
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    """Seconds each readiness check may take before it counts as failed."""
    migrate_on_start: bool = True
    """Apply the schema migrations at start (development). Off where a Job runs them first
    (Kubernetes): the service then waits, not ready, until the schema is at head."""
    outbox_batch_size: int = 2000
    """Outbox rows the relay publishes per round."""
    outbox_poll_seconds: float = 0.5
    """How often the relay looks for outbox rows when no commit woke it."""

    @property
    def kafka(self) -> KafkaConnection:
        """The Kafka cluster every client of this service connects to."""
        return KafkaConnection.model_validate(
            {
                "bootstrap_servers": self.kafka_bootstrap_servers,
                "security_protocol": self.kafka_security_protocol,
                "ssl_ca_file": self.kafka_ssl_ca_file,
                "ssl_cert_file": self.kafka_ssl_cert_file,
                "ssl_key_file": self.kafka_ssl_key_file,
            }
        )

    @model_validator(mode="after")
    def _kafka_is_usable(self) -> Self:
        self.kafka  # noqa: B018 (checked at start, not at the first connection)
        return self
