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
    database_url: str = "sqlite+aiosqlite:///.ndx/data/business.db"
    grpc_port: int = 50063
    tls_cert_file: Path = Path(".ndx/pki/business-registry.crt")
    tls_key_file: Path = Path(".ndx/pki/business-registry.key")
    enterprise_topic: str = TOPIC
    # Per-entity order needs one partition per key; six spread the enterprises over brokers.
    topic_partitions: int = 6
    # Representatives' names and deaths follow the population registry's citizen events.
    consumer_group: str = "ndx-business-registry"
    # Representatives and members named in writes are checked through the gateway, as the
    # business registration office.
    agency_cert_file: Path = Path(".ndx/pki/business-office.crt")
    agency_key_file: Path = Path(".ndx/pki/business-office.key")
    verify_purpose: str = "business-registration"
    verify_officer: str = "registry:business"
