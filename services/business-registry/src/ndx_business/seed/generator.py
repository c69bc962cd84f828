"""Sample enterprises: valid tax codes, real wards, representatives from the population seed."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.vn import mst

from ndx_population.seed.generator import REFERENCE_DAY, generate_citizens
from ndx_refdata import Ward, gazetteer
from ndx_runtime.db import create_engine

from ..adapters.rows import child_rows, enterprise_to_row
from ..adapters.tables import branches, business_lines, members, representatives
from ..adapters.tables import enterprises as enterprises_table
from ..domain.model import Enterprise
from ..domain.values import (
    Address,
    Branch,
    BusinessLine,
    EnterpriseType,
    LegalStatus,
    Member,
    Representative,
)
from ..domain.vsic import VSIC_2018
from ..migrations import MIGRATIONS

_KINDS = (
    (EnterpriseType.SINGLE_MEMBER_LLC, "Công ty TNHH", 0.35),
    (EnterpriseType.MULTI_MEMBER_LLC, "Công ty TNHH", 0.25),
    (EnterpriseType.JOINT_STOCK, "Công ty Cổ phần", 0.25),
    (EnterpriseType.PRIVATE_ENTERPRISE, "Doanh nghiệp tư nhân", 0.12),
    (EnterpriseType.PARTNERSHIP, "Công ty Hợp danh", 0.03),
)
_TRADES = (
    "Thương mại", "Xây dựng", "Công nghệ", "Vận tải", "Thực phẩm", "Dịch vụ",
    "Đầu tư", "Du lịch", "May mặc", "Nông sản", "Cơ khí", "Phần mềm",
)  # fmt: skip
_WORDS = (
    "Hoà Bình", "Thành Công", "Phú Thịnh", "Minh Long", "Hưng Thịnh", "Sao Việt",
    "An Phát", "Bình Minh", "Trường Sơn", "Đại Dương", "Kim Ngân", "Hải Âu",
)  # fmt: skip
_STATUSES = (
    (LegalStatus.OPERATING, 0.88),
    (LegalStatus.SUSPENDED, 0.05),
    (LegalStatus.NOT_AT_REGISTERED_ADDRESS, 0.02),
    (LegalStatus.TAX_CODE_REVOKED, 0.01),
    (LegalStatus.DISSOLVING, 0.02),
    (LegalStatus.DISSOLVED, 0.02),
)
T = TypeVar("T")

# Titles a legal representative holds, by enterprise type.
_TITLES = {
    EnterpriseType.PRIVATE_ENTERPRISE: ("Chủ doanh nghiệp",),
    EnterpriseType.SINGLE_MEMBER_LLC: ("Giám đốc", "Chủ tịch công ty", "Tổng giám đốc"),
    EnterpriseType.MULTI_MEMBER_LLC: ("Giám đốc", "Chủ tịch Hội đồng thành viên", "Tổng giám đốc"),
    EnterpriseType.JOINT_STOCK: ("Tổng giám đốc", "Chủ tịch Hội đồng quản trị", "Giám đốc"),
    EnterpriseType.PARTNERSHIP: ("Giám đốc", "Thành viên hợp danh"),
}
# Members each type gets in the seed, within the law's bounds (see domain.ownership).
_MEMBERS = {
    EnterpriseType.PRIVATE_ENTERPRISE: (1, 1),
    EnterpriseType.SINGLE_MEMBER_LLC: (1, 1),
    EnterpriseType.MULTI_MEMBER_LLC: (2, 5),
    EnterpriseType.JOINT_STOCK: (3, 6),
    EnterpriseType.PARTNERSHIP: (2, 3),
}


def generate_enterprises(seed: int, enterprises: int, citizens: int) -> Iterator[Enterprise]:
    """`enterprises` enterprises whose representatives and members are living adults among
    `generate_citizens(seed, citizens)`; the same arguments give the same enterprises."""
    adult_born = REFERENCE_DAY - timedelta(days=18 * 365 + 5)
    people = [
        c
        for c in generate_citizens(seed, citizens)
        if c.date_of_death is None and c.date_of_birth <= adult_born
    ]
    if len(people) < 6:
        raise ValueError(f"too few living adults among {citizens} citizens to own enterprises")
    # A separate stream, so the enterprises do not shift when the citizen generator changes.
    rng = random.Random(f"business:{seed}")
    wards = [w for p in gazetteer().provinces for w in p.wards]
    used: set[str] = set()
    now = datetime.combine(REFERENCE_DAY, datetime.min.time(), tzinfo=UTC)
    for _ in range(enterprises):
        yield replace(new_enterprise(rng, people, wards, used), version=1, updated_at=now)


class Person(Protocol):
    """Who can represent or own an enterprise: a citizen, by id and registered name."""

    @property
    def citizen_id(self) -> str: ...

    @property
    def full_name(self) -> str: ...


def new_enterprise(
    rng: random.Random,
    people: Sequence[Person],
    wards: Sequence[Ward],
    used: set[str],
    founded: date | None = None,
) -> Enterprise:
    """One enterprise of a random type, its representatives and members among `people`, its
    tax code not in `used` (added to it); founded `founded`, else up to 30 years ago in some
    legal status, else operating."""
    code = _tax_code(rng, used)
    kind, prefix = _pick(rng, [((k, p), w) for k, p, w in _KINDS])
    count = 1 if kind == EnterpriseType.PRIVATE_ENTERPRISE else rng.choice((1, 1, 1, 2))
    reps = tuple(
        Representative(c.citizen_id, c.full_name, rng.choice(_TITLES[kind]))
        for c in rng.sample(people, count)
    )
    ward = rng.choice(wards)
    capital = rng.randint(1, 500) * 100_000_000
    return Enterprise(
        enterprise_code=code,
        name=f"{prefix} {rng.choice(_TRADES)} {rng.choice(_WORDS)}",
        type=kind,
        head_office=Address(ward.province_code, ward.code, f"Số {rng.randint(1, 300)}"),
        legal_representatives=reps,
        founding_date=founded or REFERENCE_DAY - timedelta(days=rng.randint(30, 30 * 365)),
        charter_capital_vnd=capital,
        legal_status=_pick(rng, list(_STATUSES)) if founded is None else LegalStatus.OPERATING,
        members=_members(rng, kind, reps, people, capital),
        business_lines=_lines(rng),
        branches=_branches(rng, code, wards),
    )


_VSIC = sorted(VSIC_2018)


def _members(
    rng: random.Random,
    kind: EnterpriseType,
    reps: tuple[Representative, ...],
    people: Sequence[Person],
    capital: int,
) -> tuple[Member, ...]:
    """The owners of the capital, all citizens of the population seed: the representatives
    first, then others; the shares add up to 100 %."""
    least, most = _MEMBERS[kind]
    count = rng.randint(least, most)
    chosen = {r.citizen_id: r.full_name for r in reps[:count]}
    while len(chosen) < count:
        c = rng.choice(people)
        chosen.setdefault(c.citizen_id, c.full_name)
    # Whole percents keep every contribution a whole number of VND (capital is in 100 million).
    cuts = sorted(rng.sample(range(1, 100), count - 1))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    return tuple(
        Member(name, capital * share // 100, share * 100, citizen_id=citizen_id)
        for (citizen_id, name), share in zip(chosen.items(), shares, strict=True)
    )


def _lines(rng: random.Random) -> tuple[BusinessLine, ...]:
    codes = rng.sample(_VSIC, rng.randint(1, 4))
    return tuple(BusinessLine(code, main=i == 0) for i, code in enumerate(codes))


def _branches(rng: random.Random, code: str, wards: Sequence[Ward]) -> tuple[Branch, ...]:
    if rng.random() > 0.15:
        return ()
    return tuple(
        Branch(
            f"{code}-{n:03d}",
            f"Chi nhánh {n}",
            Address(ward.province_code, ward.code, f"Số {rng.randint(1, 300)}"),
        )
        for n, ward in enumerate(rng.sample(wards, rng.randint(1, 3)), start=1)
    )


def _tax_code(rng: random.Random, used: set[str]) -> str:
    while True:
        body = f"{rng.randint(1, 99):02d}{rng.randint(0, 9_999_999):07d}"
        code = body + mst.calc_check_digit(body)
        if code not in used and mst.is_valid(code):
            used.add(code)
            return code


def _pick(rng: random.Random, weighted: list[tuple[T, float]]) -> T:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


async def seed_enterprises(engine: AsyncEngine, enterprises: Iterable[Enterprise]) -> int:
    """Inserts the enterprises as they are (no events: a seed is the initial state)."""
    rows: list[dict[str, object]] = []
    children: dict[str, list[dict[str, object]]] = {}
    for e in enterprises:
        rows.append(enterprise_to_row(e))
        for name, items in child_rows(e).items():
            children.setdefault(name, []).extend(items)
    async with engine.begin() as conn:
        if rows:
            await conn.execute(insert(enterprises_table), rows)
            for table in (representatives, members, business_lines, branches):
                if children.get(table.name):
                    await conn.execute(insert(table), children[table.name])
    return len(rows)


async def seed_business(database_url: str, enterprises: int, seed: int, citizens: int) -> int:
    """Migrates the schema and loads sample enterprises; refuses a database that has some."""
    engine = create_engine(database_url)
    try:
        await MIGRATIONS.upgrade(engine)
        async with engine.begin() as conn:
            existing = await conn.execute(select(func.count()).select_from(enterprises_table))
            if existing.scalar_one():
                raise RuntimeError(f"{database_url} already holds enterprises; seed an empty one")
        return await seed_enterprises(engine, generate_enterprises(seed, enterprises, citizens))
    finally:
        await engine.dispose()
