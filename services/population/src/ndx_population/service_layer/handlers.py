"""Write use cases of the population registry: each reads like the rule it applies."""

from __future__ import annotations

from datetime import date
from typing import Any

from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput
from ndx_runtime.places import address_violations, complete
from ndx_runtime.use_cases import change

from ..adapters.tables import ADDRESS_FIELDS
from ..domain.model import Citizen
from ..domain.values import Address
from .unit_of_work import PopulationUnitOfWork


async def register_citizen(citizen: Citizen, uow: PopulationUnitOfWork, clock: Clock) -> Citizen:
    check_addresses(citizen)
    async with uow:
        Citizen.register(citizen, clock.today(), clock.now())
        uow.citizens.add(citizen)
        await uow.commit()
    return citizen


async def update_citizen(
    citizen_id: str,
    changes: dict[str, Any],
    expected_version: int,
    uow: PopulationUnitOfWork,
    clock: Clock,
) -> Citizen:
    changes = resolve_addresses(changes)
    return await change(
        uow,
        lambda u: u.citizens,
        citizen_id,
        expected_version,
        lambda c: c.apply_update(changes, clock.today(), clock.now()),
    )


async def record_death(
    citizen_id: str,
    date_of_death: date,
    expected_version: int,
    uow: PopulationUnitOfWork,
    clock: Clock,
) -> Citizen:
    return await change(
        uow,
        lambda u: u.citizens,
        citizen_id,
        expected_version,
        lambda c: c.record_death(date_of_death, clock.today(), clock.now()),
    )


def check_addresses(citizen: Citizen) -> None:
    """Every address names a ward of the 2025 catalogue (see `resolve_addresses`)."""
    values = {name: getattr(citizen, name) for name in ADDRESS_FIELDS}
    for name, address in resolve_addresses(values).items():
        setattr(citizen, name, address)


def resolve_addresses(values: dict[str, Any]) -> dict[str, Any]:
    """Checks the address values among `values` against the 2025 catalogue and fills in a
    missing province code from the ward; other values pass through."""
    problems = []
    out = dict(values)
    for name in ADDRESS_FIELDS:
        address: Address | None = values.get(name)
        if address is None:
            continue
        found = address_violations(name, address)
        problems.extend(found)
        if not found:
            out[name] = complete(address)
    if problems:
        raise InvalidInput(problems)
    return out
