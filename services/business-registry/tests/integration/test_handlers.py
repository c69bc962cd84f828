"""Write handlers against a real database: rows, version checks and outbox events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ndx.business.v1 import events_pb2
from ndx.common.v1 import types_pb2
from ndx_business.adapters.tables import outbox
from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import Address, LegalStatus, Representative
from ndx_business.seed import seed_business
from ndx_business.service_layer import handlers
from ndx_business.service_layer.unit_of_work import BusinessUnitOfWork
from ndx_population.citizen_checks import KnownCitizens
from ndx_runtime.clock import Clock
from ndx_runtime.db import Database
from ndx_runtime.errors import InvalidInput, StaleVersion

# When the citizen changed in the population registry: derived changes carry this time.
CHANGED_AT = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
DIED = date(2024, 5, 1)
Make = Callable[..., Enterprise]


class EarlierClock(Clock):
    """Registers records a month before CHANGED_AT, so that citizen change is their latest."""

    def now(self) -> datetime:
        return CHANGED_AT - timedelta(days=30)


async def _events(db: Database) -> list[events_pb2.EnterpriseChanged]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.value).order_by(outbox.c.id))).all()
    return [events_pb2.EnterpriseChanged.FromString(r[0]) for r in rows]


async def test_register_publishes_one_create_event(
    uow: BusinessUnitOfWork, database: Database, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    await handlers.register_enterprise(make_enterprise(), uow, Clock(), citizens)
    (event,) = await _events(database)
    assert event.enterprise_code == "0100233488"
    assert event.op == types_pb2.CHANGE_OP_CREATE
    assert event.version == 1
    assert event.after.legal_representatives[0].full_name == "Nguyễn Văn An"
    assert event.after.head_office.province_code  # filled in from the ward
    assert not event.HasField("before")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enterprise_code": "0100233489"}, "enterprise_code"),
        ({"charter_capital_vnd": -1}, "charter_capital_vnd"),
        ({"legal_representatives": ()}, "legal_representatives"),
        ({"head_office": Address("", "99999")}, "head_office.ward_code"),
    ],
)
async def test_invalid_enterprise_is_refused_and_nothing_written(
    uow: BusinessUnitOfWork,
    database: Database,
    make_enterprise: Make,
    change: dict[str, object],
    field: str,
    citizens: KnownCitizens,
) -> None:
    enterprise = make_enterprise()
    for name, value in change.items():
        setattr(enterprise, name, value)
    with pytest.raises(InvalidInput) as raised:
        await handlers.register_enterprise(enterprise, uow, Clock(), citizens)
    assert field in [v.field for v in raised.value.violations]
    assert await _events(database) == []


async def test_stale_status_change_is_refused_without_event(
    uow: BusinessUnitOfWork, database: Database, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    await handlers.register_enterprise(make_enterprise(), uow, Clock(), citizens)
    with pytest.raises(StaleVersion):
        await handlers.change_legal_status("0100233488", LegalStatus.SUSPENDED, 7, uow, Clock())
    changed = await handlers.change_legal_status(
        "0100233488", LegalStatus.SUSPENDED, 1, uow, Clock()
    )
    assert changed.version == 2
    assert len(await _events(database)) == 2


async def in_uow(
    apply: Callable[[str, Any, datetime, BusinessUnitOfWork], Awaitable[int]],
    citizen_id: str,
    value: Any,
    uow: BusinessUnitOfWork,
) -> int:
    """Runs a consumer reaction the way the citizen-event handler does: in one transaction,
    for a citizen change made at CHANGED_AT."""
    async with uow:
        changed = await apply(citizen_id, value, CHANGED_AT, uow)
        await uow.commit()
    return changed


async def test_death_of_only_representative_flags_each_enterprise_once(
    uow: BusinessUnitOfWork, database: Database, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    rep = Representative("001085012345", "Nguyễn Văn An", "Giám đốc")
    other = Representative("001090054321", "Trần Thị Bình", "Tổng giám đốc")
    await handlers.register_enterprise(make_enterprise("0100233488", rep), uow, Clock(), citizens)
    await handlers.register_enterprise(
        make_enterprise("0100109106", rep, other), uow, Clock(), citizens
    )

    assert await in_uow(handlers.apply_citizen_died, rep.citizen_id, DIED, uow) == 2
    assert await in_uow(handlers.apply_citizen_died, rep.citizen_id, DIED, uow) == 0

    updates = {e.enterprise_code: e for e in (await _events(database))[2:]}
    assert len(updates) == 2
    alone = updates["0100233488"]
    assert alone.version == 2
    assert alone.after.representative_deceased
    assert alone.after.legal_representatives[0].deceased
    assert alone.after.legal_representatives[0].date_of_death.year == 2024
    assert set(alone.changed_fields.paths) == {"legal_representatives", "representative_deceased"}
    assert not updates["0100109106"].after.representative_deceased


async def test_rename_follows_the_citizen(
    uow: BusinessUnitOfWork, database: Database, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    await handlers.register_enterprise(make_enterprise(), uow, EarlierClock(), citizens)
    assert await in_uow(handlers.apply_citizen_renamed, "001085012345", "Nguyễn Văn Anh", uow) == 1
    assert await in_uow(handlers.apply_citizen_renamed, "001085012345", "Nguyễn Văn Anh", uow) == 0
    last = (await _events(database))[-1]
    assert last.after.legal_representatives[0].full_name == "Nguyễn Văn Anh"
    assert last.after.members[0].name == "Nguyễn Văn Anh"  # the owner is the same citizen
    assert list(last.changed_fields.paths) == ["legal_representatives", "members"]
    # Stamped with the citizen's change, not the time it was applied: a replay agrees.
    assert last.after.update_time.ToDatetime(tzinfo=UTC) == CHANGED_AT


async def test_seed_business_loads_then_refuses_a_second_time(database_url: str) -> None:
    assert await seed_business(database_url, 30, 5, 200) == 30
    with pytest.raises(RuntimeError):
        await seed_business(database_url, 30, 5, 200)
