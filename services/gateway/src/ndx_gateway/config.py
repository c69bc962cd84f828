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
    grpc_port: int = 50051
    tls_cert_file: Path = Path(".ndx/pki/gateway.crt")
    tls_key_file: Path = Path(".ndx/pki/gateway.key")
    # The access policy; a changed file is reloaded while the gateway runs.
    policy_file: Path = DEFAULT_POLICY
    policy_poll_seconds: float = 1.0
    # Where each registry service is served: full service name -> host:port. The gateway calls
    # them with its own certificate (tls_cert_file).
    upstreams: dict[str, str] = Field(
        default_factory=lambda: {
            "ndx.population.v1.PopulationService": "127.0.0.1:50061",
            "ndx.land.v1.LandService": "127.0.0.1:50062",
            "ndx.business.v1.BusinessRegistryService": "127.0.0.1:50063",
        }
    )
    # Upstream calls without a caller deadline get this one.
    upstream_timeout_seconds: float = 30.0
    audit_topic: str = AUDIT_TOPIC
    audit_partitions: int = 6
    # A call whose audit record is not acknowledged by Kafka within this time fails.
    audit_timeout_seconds: float = 5.0
    # The data tracker's index of the audit topic (SQLite file or PostgreSQL URL).
    database_url: str = "sqlite+aiosqlite:///.ndx/data/gateway.db"
    tracker_consumer_group: str = "ndx-gateway-tracker"
    # Worker processes serving one port (SO_REUSEPORT); 1 serves from the main process. With
    # more, each process serves its own metrics: the main one (the audit indexer) on
    # metrics_port, worker n on metrics_port + 1 + n.
    workers: int = 1
    # Where agencies' feeds read: aggregate (as the policy names it) -> change-event topic.
    feed_topics: dict[str, str] = Field(
        default_factory=lambda: {
            "citizen": "ndx.population.citizen.v1",
            "parcel": "ndx.land.parcel.v1",
            "enterprise": "ndx.business.enterprise.v1",
        }
    )
    # Events read per step of a feed; each step's deliveries share one audit record.
    feed_batch_size: int = Field(default=500, gt=0)
    # Bytes a feed fetches ahead of its subscriber, per partition: the memory a slow
    # subscriber can hold in the gateway.
    feed_fetch_bytes: int = Field(default=256 * 1024, gt=0)
    # Open feeds per gateway process; more are RESOURCE_EXHAUSTED.
    feed_max_subscriptions: int = Field(default=500, gt=0)
