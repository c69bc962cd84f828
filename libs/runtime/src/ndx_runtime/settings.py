"""Settings shared by every NDX service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kafka_connection import DEFAULT_BOOTSTRAP, KafkaConnection


def _cluster_wide(name: str, default: Any) -> Any:
    """A field read from the unprefixed variable NAME (or given by its name in code)."""
    return Field(default=default, validation_alias=AliasChoices(name, name.upper()))


class ServiceSettings(BaseSettings):
    """Common knobs. A service sets `env_prefix` (e.g. POPULATION_) in its own subclass."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "ndx"
    database_url: str = "sqlite+aiosqlite:///.ndx/data/service.db"
    # The Kafka cluster: cluster-wide KAFKA_* variables, no service prefix (kafka_connection.py).
    kafka_bootstrap_servers: str = _cluster_wide("kafka_bootstrap_servers", DEFAULT_BOOTSTRAP)
    kafka_security_protocol: str = _cluster_wide("kafka_security_protocol", "PLAINTEXT")
    kafka_ssl_ca_file: Path | None = _cluster_wide("kafka_ssl_ca_file", None)
    kafka_ssl_cert_file: Path | None = _cluster_wide("kafka_ssl_cert_file", None)
    kafka_ssl_key_file: Path | None = _cluster_wide("kafka_ssl_key_file", None)
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
    # Seconds in-flight RPCs get to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    outbox_batch_size: int = 2000
    outbox_poll_seconds: float = 0.5

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
