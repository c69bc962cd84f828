"""Write use cases of the land registry: each reads like the rule it applies."""

from __future__ import annotations

from datetime import date

from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput, NotFound
from ndx_runtime.places import address_violations, complete

from ..domain.model import Parcel
from ..domain.values import LandOrigin, Mortgage, RightsHolder
from .unit_of_work import LandUnitOfWork


async def register_parcel(parcel: Parcel, uow: LandUnitOfWork, clock: Clock) -> Parcel:
    problems = address_violations("address", parcel.address)
    if problems:
        raise InvalidInput(problems)
    parcel.address = complete(parcel.address)
    async with uow:
        Parcel.register(parcel, clock.today(), clock.now())
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
) -> Parcel:
    async with uow:
        parcel = await _load(uow, parcel_id)
        parcel.check_version(expected_version)
        parcel.transfer(holders, origin, clock.now())
        await uow.commit()
    return parcel


async def register_mortgage(
    parcel_id: str, mortgage: Mortgage, expected_version: int, uow: LandUnitOfWork, clock: Clock
) -> Parcel:
    async with uow:
        parcel = await _load(uow, parcel_id)
        parcel.check_version(expected_version)
        parcel.register_mortgage(mortgage, clock.today(), clock.now())
        await uow.commit()
    return parcel


async def release_mortgage(
    parcel_id: str,
    mortgage_id: str,
    released: date,
    expected_version: int,
    uow: LandUnitOfWork,
    clock: Clock,
) -> Parcel:
    async with uow:
        parcel = await _load(uow, parcel_id)
        parcel.check_version(expected_version)
        parcel.release_mortgage(mortgage_id, released, clock.today(), clock.now())
        await uow.commit()
    return parcel


async def apply_citizen_renamed(citizen_id: str, full_name: str, uow: LandUnitOfWork) -> int:
    """Follows a citizen's new name onto every parcel they hold, inside the caller's open unit
    of work; returns how many parcels changed (each publishes its own ParcelChanged)."""
    changed = 0
    for parcel in await uow.parcels.held_by(citizen_id):
        before = parcel.version
        parcel.rename_holder(citizen_id, full_name, Clock().now())
        changed += parcel.version != before
    return changed


async def apply_citizen_died(citizen_id: str, date_of_death: date, uow: LandUnitOfWork) -> int:
    """Marks the citizen deceased on every parcel they hold, inside the caller's open unit of
    work; returns how many parcels changed (a replayed death changes none)."""
    changed = 0
    for parcel in await uow.parcels.held_by(citizen_id):
        before = parcel.version
        parcel.holder_died(citizen_id, date_of_death, Clock().now())
        changed += parcel.version != before
    return changed


async def _load(uow: LandUnitOfWork, parcel_id: str) -> Parcel:
    parcel = await uow.parcels.get(parcel_id)
    if parcel is None:
        raise NotFound("parcel", parcel_id)
    return parcel
