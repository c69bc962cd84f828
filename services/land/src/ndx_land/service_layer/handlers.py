"""Write use cases of the land registry: each reads like the rule it applies.

Writes that name rights holders first check them with the population registry (`citizens`):
on file, under the name given, and alive, for a deceased citizen cannot acquire a right.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from ndx_population.citizen_checks import CitizenClaim, CitizenVerifier, check_citizens
from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput
from ndx_runtime.places import address_violations, complete
from ndx_runtime.use_cases import change, count_changed

from ..adapters.repository import ParcelRepository
from ..domain.model import Parcel
from ..domain.values import LandOrigin, Mortgage, RightsHolder
from .unit_of_work import LandUnitOfWork


async def register_parcel(
    parcel: Parcel, uow: LandUnitOfWork, clock: Clock, citizens: CitizenVerifier
) -> Parcel:
    problems = address_violations("address", parcel.address)
    if problems:
        raise InvalidInput(problems)
    parcel.address = complete(parcel.address)
    # The parcel as given is checked before anyone is asked about its holders.
    problems = parcel.violations(clock.today())
    if problems:
        raise InvalidInput(problems)
    deceased = await check_citizens(citizens, holder_claims(parcel.holders))
    async with uow:
        Parcel.register(parcel, clock.today(), clock.now(), deceased)
        uow.parcels.add(parcel)
        await uow.commit()
    return parcel


async def transfer_rights(
    parcel_id: str,
    holders: tuple[RightsHolder, ...],
    origin: LandOrigin,
    expected_version: int,
    uow: LandUnitOfWork,
    clock: Clock,
    citizens: CitizenVerifier,
) -> Parcel:
    deceased = await check_citizens(citizens, holder_claims(holders))
    return await change(
        uow,
        _parcels,
        parcel_id,
        expected_version,
        lambda p: p.transfer(holders, origin, clock.now(), deceased),
    )


async def register_mortgage(
    parcel_id: str, mortgage: Mortgage, expected_version: int, uow: LandUnitOfWork, clock: Clock
) -> Parcel:
    return await change(
        uow,
        _parcels,
        parcel_id,
        expected_version,
        lambda p: p.register_mortgage(mortgage, clock.today(), clock.now()),
    )


async def release_mortgage(
    parcel_id: str,
    mortgage_id: str,
    released: date,
    expected_version: int,
    uow: LandUnitOfWork,
    clock: Clock,
) -> Parcel:
    return await change(
        uow,
        _parcels,
        parcel_id,
        expected_version,
        lambda p: p.release_mortgage(mortgage_id, released, clock.today(), clock.now()),
    )


async def apply_citizen_renamed(
    citizen_id: str, full_name: str, changed_at: datetime, uow: LandUnitOfWork
) -> int:
    """Follows a citizen's new name onto every parcel they hold, inside the caller's open unit
    of work; returns how many parcels changed (each publishes its own ParcelChanged)."""
    held = await uow.parcels.held_by(citizen_id)
    return count_changed(held, lambda p: p.rename_holder(citizen_id, full_name, changed_at))


async def apply_citizen_died(
    citizen_id: str, date_of_death: date, changed_at: datetime, uow: LandUnitOfWork
) -> int:
    """Marks the citizen deceased on every parcel they hold, inside the caller's open unit of
    work; returns how many parcels changed (a replayed death changes none)."""
    held = await uow.parcels.held_by(citizen_id)
    return count_changed(held, lambda p: p.holder_died(citizen_id, date_of_death, changed_at))


def holder_claims(holders: Iterable[RightsHolder]) -> list[CitizenClaim]:
    """What the write says about each holder, named as the request names them."""
    return [CitizenClaim(f"holders[{i}]", h.citizen_id, h.full_name) for i, h in enumerate(holders)]


def _parcels(uow: LandUnitOfWork) -> ParcelRepository:
    return uow.parcels
