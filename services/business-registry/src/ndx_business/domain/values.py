"""Value types of the business domain. Enum numbers equal the contract's."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from ndx_runtime.places import Address

__all__ = [
    "Address",
    "Branch",
    "BranchStatus",
    "BusinessLine",
    "EnterpriseType",
    "LegalStatus",
    "Member",
    "Representative",
]


class EnterpriseType(enum.IntEnum):
    UNSPECIFIED = 0
    SINGLE_MEMBER_LLC = 1
    MULTI_MEMBER_LLC = 2
    JOINT_STOCK = 3
    PARTNERSHIP = 4
    PRIVATE_ENTERPRISE = 5


class LegalStatus(enum.IntEnum):
    UNSPECIFIED = 0
    OPERATING = 1
    SUSPENDED = 2
    NOT_AT_REGISTERED_ADDRESS = 3
    TAX_CODE_REVOKED = 4
    DISSOLVING = 5
    IN_BANKRUPTCY = 6
    DISSOLVED = 7


@dataclass(frozen=True, slots=True)
class Representative:
    """A legal representative: a citizen of the population registry, with a title."""

    citizen_id: str
    full_name: str
    title: str = ""
    deceased: bool = False
    date_of_death: date | None = None


class BranchStatus(enum.IntEnum):
    UNSPECIFIED = 0
    OPERATING = 1
    CLOSED = 2


@dataclass(frozen=True, slots=True)
class Member:
    """A member, shareholder or owner: a citizen (citizen_id) or an institution
    (enterprise_code), with the capital it contributed and the share of the enterprise it owns
    in basis points (hundredths of a percent: 10_000 is the whole enterprise)."""

    name: str
    capital_contribution_vnd: int
    ownership_basis_points: int
    citizen_id: str = ""
    enterprise_code: str = ""


@dataclass(frozen=True, slots=True)
class BusinessLine:
    vsic_code: str
    main: bool = False


@dataclass(frozen=True, slots=True)
class Branch:
    branch_code: str
    name: str
    address: Address
    status: BranchStatus = BranchStatus.OPERATING
