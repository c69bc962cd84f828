"""Value types of the population domain. Enum numbers equal the contract's."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ndx_runtime.places import Address

__all__ = [
    "Address",
    "BloodType",
    "Gender",
    "HouseholdRelationship",
    "IdentityCard",
    "MaritalStatus",
]
from datetime import date


class Gender(enum.IntEnum):
    UNSPECIFIED = 0
    MALE = 1
    FEMALE = 2


class BloodType(enum.IntEnum):
    UNSPECIFIED = 0
    O_POSITIVE = 1
    O_NEGATIVE = 2
    A_POSITIVE = 3
    A_NEGATIVE = 4
    B_POSITIVE = 5
    B_NEGATIVE = 6
    AB_POSITIVE = 7
    AB_NEGATIVE = 8


class MaritalStatus(enum.IntEnum):
    UNSPECIFIED = 0
    SINGLE = 1
    MARRIED = 2
    DIVORCED = 3
    WIDOWED = 4


class HouseholdRelationship(enum.IntEnum):
    UNSPECIFIED = 0
    HEAD = 1
    SPOUSE = 2
    CHILD = 3
    PARENT = 4
    GRANDCHILD = 5
    SIBLING = 6
    OTHER = 7


@dataclass(frozen=True, slots=True)
class IdentityCard:
    issue_date: date | None = None
    issue_place: str = ""
    expiry_date: date | None = None
