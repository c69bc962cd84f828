"""Sample enterprises: valid tax codes, real wards, representatives from the population seed."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.vn import mst

from ndx_population.seed.generator import REFERENCE_DAY, generate_citizens
from ndx_refdata import gazetteer
from ndx_runtime.db import create_engine

from ..adapters.rows import enterprise_to_row, representative_rows
from ..adapters.tables import enterprises as enterprises_table
from ..adapters.tables import metadata, representatives
from ..domain.model import Enterprise
from ..domain.values import Address, EnterpriseType, LegalStatus, Representative

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

_TITLES = ("Giám đốc", "Tổng giám đốc", "Chủ tịch Hội đồng quản trị", "Chủ doanh nghiệp")


def generate_enterprises(seed: int, enterprises: int, citizens: int) -> Iterator[Enterprise]:
    """`enterprises` enterprises represented by living adults among
    `generate_citizens(seed, citizens)`; the same arguments give the same enterprises."""
    adult_born = REFERENCE_DAY - timedelta(days=18 * 365 + 5)
    people = [
        c
        for c in generate_citizens(seed, citizens)
        if c.date_of_death is None and c.date_of_birth <= adult_born
    ]
    if not people:
        raise ValueError(f"no living adult among {citizens} citizens to represent enterprises")
    # A separate stream, so the enterprises do not shift when the citizen generator changes.
    rng = random.Random(f"business:{seed}")
    wards = [w for p in gazetteer().provinces for w in p.wards]
    used: set[str] = set()
    now = datetime.combine(REFERENCE_DAY, datetime.min.time(), tzinfo=UTC)
    for _ in range(enterprises):
        code = _tax_code(rng, used)
        kind, prefix = _pick(rng, [((k, p), w) for k, p, w in _KINDS])
        count = 1 if kind == EnterpriseType.PRIVATE_ENTERPRISE else rng.choice((1, 1, 1, 2))
        reps = tuple(
            Representative(c.citizen_id, c.full_name, rng.choice(_TITLES))
            for c in rng.sample(people, min(count, len(people)))
        )
        ward = rng.choice(wards)
        yield Enterprise(
            enterprise_code=code,
            name=f"{prefix} {rng.choice(_TRADES)} {rng.choice(_WORDS)}",
            type=kind,
            head_office=Address(ward.province_code, ward.code, f"Số {rng.randint(1, 300)}"),
            legal_representatives=reps,
            founding_date=REFERENCE_DAY - timedelta(days=rng.randint(30, 30 * 365)),
            charter_capital_vnd=rng.randint(1, 500) * 100_000_000,
            legal_status=_pick(rng, list(_STATUSES)),
            version=1,
            updated_at=now,
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
    rows, reps = [], []
    for e in enterprises:
        rows.append(enterprise_to_row(e))
        reps.extend(representative_rows(e))
    async with engine.begin() as conn:
        if rows:
            await conn.execute(insert(enterprises_table), rows)
            await conn.execute(insert(representatives), reps)
    return len(rows)


async def seed_business(database_url: str, enterprises: int, seed: int, citizens: int) -> int:
    """Creates the schema and loads sample enterprises; refuses a database that has some."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            existing = await conn.execute(select(func.count()).select_from(enterprises_table))
            if existing.scalar_one():
                raise RuntimeError(f"{database_url} already holds enterprises; seed an empty one")
        return await seed_enterprises(engine, generate_enterprises(seed, enterprises, citizens))
    finally:
        await engine.dispose()
