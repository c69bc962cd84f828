"""Who owns an enterprise: members, shareholders, partners or the private owner.

The rules follow the Law on Enterprises 2020:

* a private enterprise (Art. 188) is owned by one individual: exactly one member, a citizen,
  owning 100 %;
* a single-member limited liability company (Art. 74) has exactly one member, a citizen or an
  organisation, owning 100 %;
* a multi-member limited liability company (Art. 46) has 2 to 50 members;
* a joint-stock company (Art. 111) has at least 3 (founding) shareholders;
* a partnership (Art. 177) has at least 2 partners.

Every member contributes capital and owns a share; a share is what its contribution is of the
charter capital (Art. 47, 75, 112), so each share must equal contribution / charter capital to
the hundredth of a percent, the contributions may not exceed the charter capital and the shares
may not exceed 100 %. A member is a citizen or an enterprise, never both, and appears once.
"""

from __future__ import annotations

from ndx_runtime.errors import Violation

from .tax_code import tax_code_violation
from .values import EnterpriseType, Member

WHOLE = 10_000  # basis points in 100 %

# Members each type may have: (at least, at most); None is no upper bound.
MEMBER_COUNTS: dict[EnterpriseType, tuple[int, int | None]] = {
    EnterpriseType.PRIVATE_ENTERPRISE: (1, 1),
    EnterpriseType.SINGLE_MEMBER_LLC: (1, 1),
    EnterpriseType.MULTI_MEMBER_LLC: (2, 50),
    EnterpriseType.JOINT_STOCK: (3, None),
    EnterpriseType.PARTNERSHIP: (2, None),
}

_NOUNS = {
    EnterpriseType.PRIVATE_ENTERPRISE: "a private enterprise has exactly one owner",
    EnterpriseType.SINGLE_MEMBER_LLC: "a single-member LLC has exactly one member",
    EnterpriseType.MULTI_MEMBER_LLC: "a multi-member LLC has 2 to 50 members",
    EnterpriseType.JOINT_STOCK: "a joint-stock company has at least 3 founding shareholders",
    EnterpriseType.PARTNERSHIP: "a partnership has at least 2 partners",
}


def percent(basis_points: int) -> str:
    """Basis points as a percent for messages: 3333 -> "33.33 %"."""
    return f"{basis_points / 100:.2f} %"


def share_of(contribution: int, charter_capital: int) -> int:
    """The share a contribution is of the charter capital, in basis points (rounded)."""
    return (contribution * WHOLE * 2 + charter_capital) // (charter_capital * 2)


def member_violations(
    kind: EnterpriseType, charter_capital: int, members: tuple[Member, ...]
) -> list[Violation]:
    problems = _count_violations(kind, members)
    for i, m in enumerate(members):
        problems.extend(_one_member(i, m, kind, charter_capital))
    ids = [m.citizen_id or m.enterprise_code for m in members]
    if len(set(ids)) != len(ids):
        problems.append(Violation("members", "a member is listed twice"))
    total = sum(m.capital_contribution_vnd for m in members)
    if total > charter_capital >= 0:
        problems.append(
            Violation(
                "members",
                f"contributions add up to {total:,} VND, more than the charter capital "
                f"({charter_capital:,} VND)",
            )
        )
    owned = sum(m.ownership_basis_points for m in members)
    if owned > WHOLE:
        problems.append(Violation("members", f"shares add up to {percent(owned)}, over 100 %"))
    return problems


def _count_violations(kind: EnterpriseType, members: tuple[Member, ...]) -> list[Violation]:
    if kind not in MEMBER_COUNTS:
        return []  # the type itself is reported missing
    least, most = MEMBER_COUNTS[kind]
    if len(members) < least or (most is not None and len(members) > most):
        return [Violation("members", f"{_NOUNS[kind]}, got {len(members)}")]
    return []


def _one_member(i: int, m: Member, kind: EnterpriseType, charter_capital: int) -> list[Violation]:
    at = f"members[{i}]"
    problems = []
    if bool(m.citizen_id) == bool(m.enterprise_code):
        problems.append(Violation(at, "give exactly one of citizen_id, enterprise_code"))
    elif m.citizen_id and not (len(m.citizen_id) == 12 and m.citizen_id.isdigit()):
        problems.append(Violation(f"{at}.citizen_id", "must be 12 digits"))
    elif m.enterprise_code:
        bad_code = tax_code_violation(m.enterprise_code)
        if bad_code:
            problems.append(Violation(f"{at}.enterprise_code", bad_code))
        elif kind == EnterpriseType.PRIVATE_ENTERPRISE:
            problems.append(
                Violation(f"{at}.enterprise_code", "a private enterprise is owned by a citizen")
            )
    if not m.name.strip():
        problems.append(Violation(f"{at}.name", "is required"))
    if m.capital_contribution_vnd <= 0:
        problems.append(Violation(f"{at}.capital_contribution_vnd", "must be more than 0"))
    if not 0 < m.ownership_basis_points <= WHOLE:
        problems.append(Violation(f"{at}.ownership_percent", "must be more than 0 and at most 100"))
    elif charter_capital > 0 and m.capital_contribution_vnd > 0:
        expected = share_of(m.capital_contribution_vnd, charter_capital)
        if abs(m.ownership_basis_points - expected) > 1:
            problems.append(
                Violation(
                    f"{at}.ownership_percent",
                    f"is {percent(m.ownership_basis_points)} but the contribution is "
                    f"{percent(expected)} of the charter capital",
                )
            )
    return problems
