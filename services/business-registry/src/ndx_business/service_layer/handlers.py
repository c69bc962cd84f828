"""Write use cases of the business registry: each reads like the rule it applies.

Writes that name legal representatives or members first check them with the population
registry (`citizens`): on file, under the name given, and alive when they are new to the
enterprise, for a deceased citizen can be neither appointed nor admitted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ndx_population.citizen_checks import CitizenClaim, CitizenVerifier, check_citizens
from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput
from ndx_runtime.places import address_violations, complete
from ndx_runtime.use_cases import change, count_changed

from ..adapters.repository import EnterpriseRepository
from ..domain.model import Enterprise
from ..domain.values import LegalStatus, Member, Representative
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
    enterprise: Enterprise, uow: BusinessUnitOfWork, clock: Clock, citizens: CitizenVerifier
) -> Enterprise:
    places = _places({"head_office": enterprise.head_office, "branches": enterprise.branches})
    enterprise.head_office, enterprise.branches = places["head_office"], places["branches"]
    # The enterprise as given is checked before anyone is asked about its people.
    problems = enterprise.violations()
    if problems:
        raise InvalidInput(problems)
    named = [
        *representative_claims(enterprise.legal_representatives),
        *member_claims(enterprise.members),
    ]
    deceased = await check_citizens(citizens, named)
    async with uow:
        Enterprise.register(enterprise, clock.now(), deceased)
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
    return await change(
        uow,
        _enterprises,
        enterprise_code,
        expected_version,
        lambda e: e.change_legal_status(status, clock.now()),
    )


async def update_enterprise(
    enterprise_code: str,
    changes: dict[str, Any],
    expected_version: int,
    uow: BusinessUnitOfWork,
    clock: Clock,
    citizens: CitizenVerifier,
) -> Enterprise:
    deceased = await check_citizens(citizens, member_claims(changes.get("members", ())))
    return await change(
        uow,
        _enterprises,
        enterprise_code,
        expected_version,
        lambda e: e.apply_update(_places(changes), clock.now(), deceased),
    )


async def change_legal_representative(
    enterprise_code: str,
    representatives: tuple[Representative, ...],
    expected_version: int,
    uow: BusinessUnitOfWork,
    clock: Clock,
    citizens: CitizenVerifier,
) -> Enterprise:
    deceased = await check_citizens(citizens, representative_claims(representatives))
    return await change(
        uow,
        _enterprises,
        enterprise_code,
        expected_version,
        lambda e: e.change_representatives(representatives, clock.now(), deceased),
    )


async def apply_citizen_renamed(
    citizen_id: str, full_name: str, changed_at: datetime, uow: BusinessUnitOfWork
) -> int:
    """Follows a citizen's new name into every enterprise they represent, inside the caller's
    open unit of work; returns how many enterprises changed (each publishes its own
    EnterpriseChanged)."""
    represented = await uow.enterprises.for_representative(citizen_id)
    return count_changed(
        represented, lambda e: e.rename_representative(citizen_id, full_name, changed_at)
    )


async def apply_citizen_died(
    citizen_id: str, date_of_death: date, changed_at: datetime, uow: BusinessUnitOfWork
) -> int:
    """Marks the citizen deceased in every enterprise they represent, inside the caller's open
    unit of work; returns how many enterprises changed (a replayed death changes none)."""
    represented = await uow.enterprises.for_representative(citizen_id)
    return count_changed(
        represented, lambda e: e.representative_died(citizen_id, date_of_death, changed_at)
    )


def representative_claims(reps: Iterable[Representative]) -> list[CitizenClaim]:
    """What the write says about each legal representative, named as the request names them."""
    return [
        CitizenClaim(f"legal_representatives[{i}]", r.citizen_id, r.full_name)
        for i, r in enumerate(reps)
    ]


def member_claims(members: Iterable[Member]) -> list[CitizenClaim]:
    """What the write says about each member who is a citizen (not an enterprise)."""
    return [
        CitizenClaim(f"members[{i}]", m.citizen_id, m.name, name_field="name")
        for i, m in enumerate(members)
        if m.citizen_id
    ]


def _enterprises(uow: BusinessUnitOfWork) -> EnterpriseRepository:
    return uow.enterprises
