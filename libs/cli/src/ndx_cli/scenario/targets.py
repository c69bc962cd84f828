"""Where a scenario's calls go, and as whom: a registry directly, or the gateway as its owner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from ndx.business.v1 import business_service_pb2_grpc
from ndx.land.v1 import land_service_pb2_grpc
from ndx.population.v1 import population_service_pb2_grpc

if TYPE_CHECKING:
    from ..exchange import Exchange

REGISTRIES = ("population", "land", "business")

# The owner agency of each registry and the purpose under which it writes, as the gateway's
# default policy grants them (services/gateway/src/ndx_gateway/policy/default.yaml).
OWNERS: dict[str, tuple[str, str]] = {
    "population": ("police", "population-management"),
    "land": ("land-office", "land-registration"),
    "business": ("business-office", "business-registration"),
}

_STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "population": population_service_pb2_grpc.PopulationServiceStub,
    "land": land_service_pb2_grpc.LandServiceStub,
    "business": business_service_pb2_grpc.BusinessRegistryServiceStub,
}


@dataclass(frozen=True)
class Door:
    """A channel to a registry's service (or the gateway serving it) and the metadata each
    call carries there (x-ndx-purpose and x-ndx-officer through the gateway)."""

    channel: grpc.aio.Channel
    metadata: tuple[tuple[str, str], ...] = ()

    def stub(self, registry: str) -> Any:
        return _STUBS[registry](self.channel)


@dataclass(frozen=True)
class Targets:
    """The doors of the registries a scenario writes to; a scenario needs only its own."""

    population: Door | None = None
    land: Door | None = None
    business: Door | None = None

    def door(self, registry: str) -> Door:
        found: Door | None = getattr(self, registry)
        if found is None:
            raise ValueError(f"this scenario writes to the {registry} registry: give its door")
        return found


def gateway_metadata(purpose: str, officer: str) -> tuple[tuple[str, str], ...]:
    return (("x-ndx-purpose", purpose), ("x-ndx-officer", officer))


def owner_targets(
    channel_as: Callable[[str], grpc.aio.Channel],
    officer: str,
    identity: str | None = None,
    purpose: str | None = None,
) -> Targets:
    """Through the gateway, each registry written as its owner agency under its purpose, on a
    channel `channel_as(agency)` presenting the agency's certificate; `identity` and
    `purpose` replace the owners' when given."""
    doors = {}
    for registry, (agency, owner_purpose) in OWNERS.items():
        doors[registry] = Door(
            channel_as(identity or agency), gateway_metadata(purpose or owner_purpose, officer)
        )
    return Targets(**doors)


def exchange_targets(exchange: Exchange, via: str = "direct", officer: str = "scenario") -> Targets:
    """An exchange's registries as the operator (`via="direct"`), or its gateway as the owner
    agencies (`via="gateway"`; the exchange must run one)."""
    if via == "direct":
        admin = {
            name: exchange.channel(getattr(exchange, name).host.port, "ndx-admin")
            for name in REGISTRIES
        }
        return Targets(**{name: Door(channel) for name, channel in admin.items()})
    if exchange.gateway is None:
        raise ValueError("the exchange runs no gateway: start it with gateway=True")
    port = exchange.gateway.port
    return owner_targets(lambda agency: exchange.channel(port, agency), officer)
