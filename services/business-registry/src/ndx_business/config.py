"""Business registry settings: environment variables prefixed BUSINESS_."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from ndx_population.gateway_verifier import VerifiesCitizens
from ndx_population.subscribers import FollowsCitizens
from ndx_runtime.settings import ServiceSettings

TOPIC = "ndx.business.enterprise.v1"
SOURCE = "//ndx.gov.vn/business"


class BusinessSettings(ServiceSettings, FollowsCitizens, VerifiesCitizens):
    model_config = SettingsConfigDict(env_prefix="BUSINESS_", extra="ignore", frozen=True)

    service_name: str = "business-registry"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/business.db"
    grpc_port: int = 50063
    tls_cert_file: Path = Path(".ndx/pki/business-registry.crt")
    tls_key_file: Path = Path(".ndx/pki/business-registry.key")
    enterprise_topic: str = TOPIC
    """Topic of the enterprises' change events (created at start if missing)."""
    topic_partitions: int = 6
    """Partitions of `enterprise_topic` when it is created: one key always lands on one
    partition, so more partitions spread the enterprises over brokers without losing order."""
    consumer_group: str = "ndx-business-registry"
    """Consumer group reading the citizen topic: representatives' names and deaths follow the
    population registry's events."""
    # Representatives and members named in writes are checked through the gateway, as the
    # business registration office.
    agency_cert_file: Path = Path(".ndx/pki/business-office.crt")
    agency_key_file: Path = Path(".ndx/pki/business-office.key")
    verify_purpose: str = "business-registration"
    verify_officer: str = "registry:business"
