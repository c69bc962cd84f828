"""Enterprise rules without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import LegalStatus, Representative
from ndx_runtime.errors import RuleBroken

NOW = datetime(2026, 1, 2, tzinfo=UTC)
Make = Callable[..., Enterprise]


def test_nothing_leaves_dissolved(make_enterprise: Make) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    e.change_legal_status(LegalStatus.DISSOLVING, NOW)
    e.change_legal_status(LegalStatus.DISSOLVED, NOW)
    with pytest.raises(RuleBroken):
        e.change_legal_status(LegalStatus.OPERATING, NOW)
    assert e.version == 3


def test_enterprise_is_flagged_only_when_no_representative_lives(make_enterprise: Make) -> None:
    a = Representative("001085012345", "Nguyễn Văn An")
    b = Representative("001090054321", "Trần Thị Bình")
    e = Enterprise.register(make_enterprise("0100233488", a, b), NOW)
    e.representative_died(a.citizen_id, date(2025, 1, 1), NOW)
    assert not e.representative_deceased
    e.representative_died(b.citizen_id, date(2025, 2, 1), NOW)
    assert e.representative_deceased
    assert [ev.changed_fields for ev in e.events[1:]] == [
        ("legal_representatives",),
        ("legal_representatives", "representative_deceased"),
    ]


def test_death_of_someone_else_changes_nothing(make_enterprise: Make) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    e.representative_died("079199900001", date(2025, 1, 1), NOW)
    assert (e.version, len(e.events)) == (1, 1)
