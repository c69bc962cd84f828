"""Population registry settings: environment variables prefixed POPULATION_."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from ndx_runtime.settings import ServiceSettings

TOPIC = "ndx.population.citizen.v1"
SOURCE = "//ndx.gov.vn/population"
# Per-entity order needs one partition per key; six spread the citizens over brokers.
PARTITIONS = 6


class PopulationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="POPULATION_", extra="ignore", frozen=True)

    service_name: str = "population"
    """Name in logs, traces (unless OTEL_SERVICE_NAME is set) and Kafka client ids."""
    database_url: str = "sqlite+aiosqlite:///.ndx/data/population.db"
    grpc_port: int = 50061
    tls_cert_file: Path = Path(".ndx/pki/population.crt")
    tls_key_file: Path = Path(".ndx/pki/population.key")
    citizen_topic: str = TOPIC
    """Topic of the citizens' change events (created at start if missing)."""
    topic_partitions: int = PARTITIONS
    """Partitions of `citizen_topic` when it is created: one key always lands on one
    partition, so more partitions spread the citizens over brokers without losing order."""
