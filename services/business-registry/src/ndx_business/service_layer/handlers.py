"""Write use cases of the business registry: each reads like the rule it applies."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput, NotFound
from ndx_runtime.places import address_violations, complete

from ..domain.model import Enterprise
from ..domain.values import LegalStatus, Representative
from .unit_of_work import BusinessUnitOfWork


def _places(values: dict[str, Any]) -> dict[str, Any]:
    """Checks the head-office ward and fills in the provinces of head office and branches."""
    out = dict(values)
    if "head_office" in out:
        problems = address_violations("head_office", out["head_office"])
        if problems:
            raise InvalidInput(problems)
        out["head_office"] = complete(out["head_office"])
    if "branches" in out:
        out["branches"] = tuple(
            dataclasses.replace(b, address=complete(b.address)) for b in out["branches"]
        )
    return out


async def register_enterprise(
    enterprise: Enterprise, uow: BusinessUnitOfWork, clock: Clock
) -> Enterprise:
    places = _places({"head_office": enterprise.head_office, "branches": enterprise.branches})
    enterprise.head_office, enterprise.branches = places["head_office"], places["branches"]
    async with uow:
        Enterprise.register(enterprise, clock.now())
        uow.enterprises.add(enterprise)
        await uow.commit()
    return enterprise


async def change_legal_status(
    enterprise_code: str,
    status: LegalStatus,
    expected_version: int,
    uow: BusinessUnitOfWork,
    clock: Clock,
) -> Enterprise:
    async with uow:
        enterprise = await _load(uow, enterprise_code)
        enterprise.check_version(expected_version)
        enterprise.change_legal_status(status, clock.now())
        await uow.commit()
    return enterprise


async def update_enterprise(
    enterprise_code: str,
    changes: dict[str, Any],
    expected_version: int,
    uow: BusinessUnitOfWork,
    clock: Clock,
) -> Enterprise:
    async with uow:
        enterprise = await _load(uow, enterprise_code)
        enterprise.check_version(expected_version)
        enterprise.apply_update(_places(changes), clock.now())
        await uow.commit()
    return enterprise


async def change_legal_representative(
    enterprise_code: str,
    representatives: tuple[Representative, ...],
    expected_version: int,
    uow: BusinessUnitOfWork,
    clock: Clock,
) -> Enterprise:
    async with uow:
        enterprise = await _load(uow, enterprise_code)
        enterprise.check_version(expected_version)
        enterprise.change_representatives(representatives, clock.now())
        await uow.commit()
    return enterprise


async def apply_citizen_renamed(citizen_id: str, full_name: str, uow: BusinessUnitOfWork) -> int:
    """Follows a citizen's new name into every enterprise they represent, inside the caller's
    open unit of work; returns how many enterprises changed (each publishes its own
    EnterpriseChanged)."""
    changed = 0
    for enterprise in await uow.enterprises.for_representative(citizen_id):
        before = enterprise.version
        enterprise.rename_representative(citizen_id, full_name, Clock().now())
        changed += enterprise.version != before
    return changed


async def apply_citizen_died(citizen_id: str, date_of_death: date, uow: BusinessUnitOfWork) -> int:
    """Marks the citizen deceased in every enterprise they represent, inside the caller's open
    unit of work; returns how many enterprises changed (a replayed death changes none)."""
    changed = 0
    for enterprise in await uow.enterprises.for_representative(citizen_id):
        before = enterprise.version
        enterprise.representative_died(citizen_id, date_of_death, Clock().now())
        changed += enterprise.version != before
    return changed


async def _load(uow: BusinessUnitOfWork, enterprise_code: str) -> Enterprise:
    enterprise = await uow.enterprises.get(enterprise_code)
    if enterprise is None:
        raise NotFound("enterprise", enterprise_code)
    return enterprise
