"""Gateway settings: environment variables prefixed GATEWAY_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ndx_runtime.settings import ServiceSettings

from .policy import DEFAULT_POLICY

AUDIT_TOPIC = "ndx.gateway.audit.v1"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    grpc_port: int = 50051
    tls_cert_file: Path = Path(".ndx/pki/gateway.crt")
    tls_key_file: Path = Path(".ndx/pki/gateway.key")
    policy_file: Path = DEFAULT_POLICY
    """The access policy (YAML); a changed file is reloaded while the gateway runs."""
    policy_poll_seconds: float = 1.0
    """How often the policy file is checked for changes."""
    upstreams: dict[str, str] = Field(
        default_factory=lambda: {
            "ndx.population.v1.PopulationService": "127.0.0.1:50061",
            "ndx.land.v1.LandService": "127.0.0.1:50062",
            "ndx.business.v1.BusinessRegistryService": "127.0.0.1:50063",
        }
    )
    """Where each registry service is served, as a JSON object: full service name ->
    host:port. The gateway calls them with its own certificate (tls_cert_file)."""
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    """Longest a call to a registry may take: the caller's deadline, capped by this (and the
    deadline of calls whose caller set none). A call to a registry that hangs ends with
    DEADLINE_EXCEEDED after this long at most."""
    upstream_max_in_flight: int = Field(default=100, gt=0)
    """Calls a gateway process has in flight to one registry service at most. Beyond it, calls
    to that service are refused at once with RESOURCE_EXHAUSTED (reason UPSTREAM_BUSY, retry
    in 1 s) and audited, so that a registry that hangs cannot hold every call of the gateway
    while the other registries would answer."""
    audit_topic: str = AUDIT_TOPIC
    """Topic of the audit records (created at start if missing, kept without time limit)."""
    audit_partitions: int = 6
    """Partitions of `audit_topic` when it is created."""
    audit_timeout_seconds: float = 5.0
    """A call whose audit record Kafka has not acknowledged within this time fails."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/gateway.db"
    """The data tracker's index of the audit topic: `sqlite+aiosqlite:///FILE` or
    `postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB`."""
    tracker_consumer_group: str = "ndx-gateway-tracker"
    """Consumer group of the data tracker's indexer, reading `audit_topic`."""
    workers: int = 1
    """Worker processes serving one port (SO_REUSEPORT); 1 serves from the main process. With
    more, each process serves its own metrics: the main one (the audit indexer) on
    `metrics_port`, worker n on `metrics_port + 1 + n`."""
    feed_topics: dict[str, str] = Field(
        default_factory=lambda: {
            "citizen": "ndx.population.citizen.v1",
            "parcel": "ndx.land.parcel.v1",
            "enterprise": "ndx.business.enterprise.v1",
        }
    )
    """Where agencies' feeds read, as a JSON object: aggregate (as the policy names it) ->
    change-event topic."""
    feed_batch_size: int = Field(default=500, gt=0)
    """Events read per step of a feed; each step's deliveries share one audit record."""
    feed_fetch_bytes: int = Field(default=256 * 1024, gt=0)
    """Bytes a feed fetches ahead of its subscriber, per partition: the memory a slow
    subscriber can hold in the gateway."""
    feed_max_subscriptions: int = Field(default=500, gt=0)
    """Open feeds per gateway process; more are RESOURCE_EXHAUSTED."""
