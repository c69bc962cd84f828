"""Enterprise rules without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import (
    BusinessLine,
    EnterpriseType,
    LegalStatus,
    Member,
    Representative,
)
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


AN = "001085012345"
BINH = "001090054321"
CAPITAL = 5_000_000_000


def _member(citizen_id: str, vnd: int, bp: int, code: str = "") -> Member:
    return Member("Nguyễn Văn An", vnd, bp, citizen_id=citizen_id, enterprise_code=code)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"members": (_member(AN, 10**12, 10_000),)}, "members"),
        ({"members": (_member("1", CAPITAL, 10_000),)}, "members[0].citizen_id"),
        ({"members": (_member(AN, CAPITAL, 10_000, "0100112437"),)}, "members[0]"),
        ({"members": (_member(AN, CAPITAL, 5_000),)}, "members[0].ownership_percent"),
        ({"members": (_member(AN, CAPITAL, 0),)}, "members[0].ownership_percent"),
        ({"members": (_member(AN, 0, 10_000),)}, "members[0].capital_contribution_vnd"),
        ({"members": ()}, "members"),
        (
            {"members": (_member(AN, CAPITAL // 2, 5_000), _member(BINH, CAPITAL // 2, 5_000))},
            "members",
        ),
        ({"charter_capital_vnd": CAPITAL * 2}, "members[0].ownership_percent"),
        ({"business_lines": (BusinessLine("6201"), BusinessLine("6202"))}, "business_lines"),
        ({"business_lines": (BusinessLine("0000", main=True),)}, "business_lines[0].vsic_code"),
        ({"charter_capital_vnd": -1}, "charter_capital_vnd"),
    ],
)
def test_an_update_breaking_a_rule_names_the_field_and_changes_nothing(
    make_enterprise: Make, changes: dict[str, object], field: str
) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    before = e.snapshot()
    with pytest.raises(InvalidInput) as caught:
        e.apply_update(changes, NOW)
    assert field in _fields(caught.value)
    assert e.version == 1
    assert (e.members, e.business_lines, e.charter_capital_vnd) == (
        before.members,
        before.business_lines,
        before.charter_capital_vnd,
    )


@pytest.mark.parametrize(
    ("kind", "members", "field"),
    [
        # A private enterprise has one owner, a person.
        (EnterpriseType.PRIVATE_ENTERPRISE, [(AN, 5_000), (BINH, 5_000)], "members"),
        (EnterpriseType.PRIVATE_ENTERPRISE, [("", 10_000)], "members[0].enterprise_code"),
        (EnterpriseType.MULTI_MEMBER_LLC, [(AN, 10_000)], "members"),
        (EnterpriseType.JOINT_STOCK, [(AN, 5_000), (BINH, 5_000)], "members"),
        (EnterpriseType.PARTNERSHIP, [(AN, 10_000)], "members"),
        (EnterpriseType.MULTI_MEMBER_LLC, [(AN, 5_000), (AN, 5_000)], "members"),
    ],
)
def test_each_type_has_the_owners_the_law_allows(
    make_enterprise: Make, kind: EnterpriseType, members: list[tuple[str, int]], field: str
) -> None:
    e = make_enterprise()
    e.type = kind
    e.members = tuple(
        _member(cid, CAPITAL * bp // 10_000, bp, "" if cid else "0100112437") for cid, bp in members
    )
    assert field in {v.field for v in e.violations()}


def test_valid_owners_of_each_type_pass(make_enterprise: Make) -> None:
    e = make_enterprise()
    e.type = EnterpriseType.JOINT_STOCK
    e.members = (
        _member(AN, 2_000_000_000, 4_000),
        _member(BINH, 1_666_650_000, 3_333),
        _member("", 1_333_350_000, 2_667, "0100112437"),
    )
    assert e.violations() == []


def test_a_representative_who_died_stays_deceased_when_the_list_is_replaced(
    make_enterprise: Make,
) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    e.representative_died(AN, date(2025, 1, 1), NOW)
    assert e.representative_deceased
    e.change_representatives(
        (Representative(AN, "Nguyễn Văn An"), Representative(BINH, "Trần Thị Bình")), NOW
    )
    assert [r.deceased for r in e.legal_representatives] == [True, False]
    assert e.legal_representatives[0].date_of_death == date(2025, 1, 1)
    assert not e.representative_deceased
    e.change_representatives((Representative(AN, "Nguyễn Văn An"),), NOW)
    assert e.representative_deceased
    assert e.version == 4


def test_a_dissolved_enterprise_takes_no_new_representative(make_enterprise: Make) -> None:
    e = Enterprise.register(make_enterprise(), NOW)
    e.change_legal_status(LegalStatus.DISSOLVING, NOW)
    e.change_legal_status(LegalStatus.DISSOLVED, NOW)
    with pytest.raises(RuleBroken):
        e.change_representatives((Representative("001090054321", "Trần Thị Bình"),), NOW)


def test_no_deceased_citizen_is_newly_appointed_or_admitted(make_enterprise: Make) -> None:
    with pytest.raises(InvalidInput) as at_registration:
        Enterprise.register(make_enterprise(), NOW, deceased={AN})
    assert _fields(at_registration.value) == {
        "legal_representatives[0].citizen_id",
        "members[0].citizen_id",
    }

    e = Enterprise.register(make_enterprise(), NOW)
    with pytest.raises(InvalidInput) as appointed:
        e.change_representatives((Representative(BINH, "Trần Thị Bình"),), NOW, deceased={BINH})
    assert _fields(appointed.value) == {"legal_representatives[0].citizen_id"}
    with pytest.raises(InvalidInput) as admitted:
        e.apply_update({"members": (_member(BINH, CAPITAL, 10_000),)}, NOW, deceased={BINH})
    assert _fields(admitted.value) == {"members[0].citizen_id"}
    assert e.version == 1

    # Those already on file stay, dead or alive.
    e.change_representatives(
        (Representative(AN, "Nguyễn Văn An"), Representative(BINH, "Trần Thị Bình")),
        NOW,
        deceased={AN},
    )
    more = 2 * CAPITAL
    e.apply_update(
        {"charter_capital_vnd": more, "members": (_member(AN, more, 10_000),)}, NOW, deceased={AN}
    )
    assert e.version == 3
