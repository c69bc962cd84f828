"""Enterprise rules without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import BusinessLine, LegalStatus, Member, Representative
from ndx_runtime.errors import InvalidInput, RuleBroken

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


def _fields(error: InvalidInput) -> set[str]:
    return {v.field for v in error.violations}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"members": (Member("An", 10**12, citizen_id="001085012345"),)}, "members"),
        ({"members": (Member("An", 1, citizen_id="1"),)}, "members[0].citizen_id"),
        ({"members": (Member("Quỹ", 1, "001085012345", "0100112437"),)}, "members[0]"),
        ({"business_lines": (BusinessLine("6201"), BusinessLine("6202"))}, "business_lines"),
        ({"business_lines": (BusinessLine("0000", main=True),)}, "business_lines[0].vsic_code"),
        ({"charter_capital_vnd": -1}, "charter_capital_vnd"),
    ],
)
def test_an_update_breaking_a_rule_names_the_field_and_changes_nothing(
    make_enterprise: Make, changes: dict[str, object], field: str
) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    with pytest.raises(InvalidInput) as caught:
        e.apply_update(changes, NOW)
    assert field in _fields(caught.value)
    assert e.version == 1
    assert e.members == () and e.business_lines == ()


def test_a_dissolved_enterprise_takes_no_new_representative(make_enterprise: Make) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    e.change_legal_status(LegalStatus.DISSOLVING, NOW)
    e.change_legal_status(LegalStatus.DISSOLVED, NOW)
    with pytest.raises(RuleBroken):
        e.change_representatives((Representative("001090054321", "Trần Thị Bình"),), NOW)
