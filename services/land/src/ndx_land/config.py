"""Land registry settings: environment variables prefixed LAND_."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from ndx_population.gateway_verifier import VerifiesCitizens
from ndx_population.subscribers import FollowsCitizens
from ndx_runtime.settings import ServiceSettings

TOPIC = "ndx.land.parcel.v1"
SOURCE = "//ndx.gov.vn/land"


class LandSettings(ServiceSettings, FollowsCitizens, VerifiesCitizens):
    model_config = SettingsConfigDict(env_prefix="LAND_", extra="ignore", frozen=True)

    service_name: str = "land"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/land.db"
    grpc_port: int = 50062
    tls_cert_file: Path = Path(".ndx/pki/land.crt")
    tls_key_file: Path = Path(".ndx/pki/land.key")
    parcel_topic: str = TOPIC
    """Topic of the parcels' change events (created at start if missing)."""
    topic_partitions: int = 6
    """Partitions of `parcel_topic` when it is created: one key always lands on one
    partition, so more partitions spread the parcels over brokers without losing order."""
    consumer_group: str = "ndx-land"
    """Consumer group reading the citizen topic: holders' names and deaths follow the
    population registry's events."""
    # Holders named in writes are checked through the gateway, as the land registration office.
    agency_cert_file: Path = Path(".ndx/pki/land-office.crt")
    agency_key_file: Path = Path(".ndx/pki/land-office.key")
    verify_purpose: str = "land-registration"
    verify_officer: str = "registry:land"
