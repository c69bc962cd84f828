"""Where the local stack lives and how the CLI reaches services (environment prefix NDX_)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from ndx_runtime.kafka_connection import KafkaConnection

# Where a call can go (`ndx call --via`): the gateway, or a registry directly (operators).
ROUTES: dict[str, str] = {
    "gateway": "127.0.0.1:50051",
    "population": "127.0.0.1:50061",
    "land": "127.0.0.1:50062",
    "business": "127.0.0.1:50063",
}

# Short names of the gRPC services, for `ndx call ALIAS/METHOD`.
SERVICE_ALIASES: dict[str, str] = {
    "population": "ndx.population.v1.PopulationService",
    "land": "ndx.land.v1.LandService",
    "business": "ndx.business.v1.BusinessRegistryService",
    "tracker": "ndx.gateway.v1.DataTrackerService",
}

# Where `ndx up` serves each service's Prometheus /metrics (on the host of its address).
METRICS_PORTS: dict[str, int] = {
    "gateway": 9451,
    "population": 9461,
    "land": 9462,
    "business": 9463,
}

AUDIT_TOPIC = "ndx.gateway.audit.v1"


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (some containers)
        return "ndx-cli"


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NDX_", extra="ignore", use_attribute_docstrings=True
    )

    home: Path = Path(".ndx")
    """Folder of the local stack: certificates (pki/), data, logs and the Kafka broker."""
    gateway_address: str = ROUTES["gateway"]
    """host:port of the gateway, for `ndx call --via gateway` (the default) and feeds."""
    population_address: str = ROUTES["population"]
    """host:port of the population registry, for `ndx call --via population`."""
    land_address: str = ROUTES["land"]
    """host:port of the land registry, for `ndx call --via land`."""
    business_address: str = ROUTES["business"]
    """host:port of the business registry, for `ndx call --via business`."""
    gateway_metrics_port: int = METRICS_PORTS["gateway"]
    """Port `ndx up` gives the gateway's Prometheus endpoint."""
    population_metrics_port: int = METRICS_PORTS["population"]
    """Port `ndx up` gives the population registry's Prometheus endpoint."""
    land_metrics_port: int = METRICS_PORTS["land"]
    """Port `ndx up` gives the land registry's Prometheus endpoint."""
    business_metrics_port: int = METRICS_PORTS["business"]
    """Port `ndx up` gives the business registry's Prometheus endpoint."""
    officer: str = Field(default_factory=_login, json_schema_extra={"doc_default": "login name"})
    """The officer id sent with calls through the gateway when --officer is not given."""
    gateway_database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NDX_GATEWAY_DATABASE_URL", "GATEWAY_DATABASE_URL"),
    )
    """The gateway's audit index, as the gateway is configured; unset, `ndx audit verify`
    reads the index `ndx up` keeps under the home folder."""
    audit_topic: str = Field(
        default=AUDIT_TOPIC,
        validation_alias=AliasChoices("NDX_AUDIT_TOPIC", "GATEWAY_AUDIT_TOPIC"),
    )
    """The gateway's audit topic, as the gateway is configured."""

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    def address(self, via: str) -> str:
        return str(getattr(self, f"{via}_address"))

    def metrics_port(self, via: str) -> int:
        return int(getattr(self, f"{via}_metrics_port"))

    def audit_database_url(self) -> str:
        """The gateway's audit index: GATEWAY_DATABASE_URL, else the one `ndx up` keeps."""
        if self.gateway_database_url:
            return self.gateway_database_url
        return f"sqlite+aiosqlite:///{(self.home / 'data' / 'gateway.db').resolve()}"


def kafka_connection() -> KafkaConnection:
    """The Kafka cluster the KAFKA_* variables name, as the services see it; a usage error
    saying what is wrong when they do not fit together."""
    from ndx_runtime.settings import ServiceSettings

    try:
        return ServiceSettings().kafka
    except ValidationError as e:
        problems = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors())
        raise click.UsageError(f"Kafka settings: {problems}") from None
