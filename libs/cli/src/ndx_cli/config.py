"""Where the local stack lives and how the CLI reaches services (environment prefix NDX_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

# Service alias -> (full gRPC service name, default local address).
SERVICES: dict[str, tuple[str, str]] = {
    "gateway": ("", "127.0.0.1:50051"),
    "population": ("ndx.population.v1.PopulationService", "127.0.0.1:50061"),
    "land": ("ndx.land.v1.LandService", "127.0.0.1:50062"),
    "business": ("ndx.business.v1.BusinessRegistryService", "127.0.0.1:50063"),
}


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NDX_", extra="ignore")

    home: Path = Path(".ndx")
    gateway_address: str = SERVICES["gateway"][1]
    population_address: str = SERVICES["population"][1]
    land_address: str = SERVICES["land"][1]
    business_address: str = SERVICES["business"][1]

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    def address(self, via: str) -> str:
        return str(getattr(self, f"{via}_address"))
