"""Value types of the land domain. Enum numbers equal the contract's."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from ndx_runtime.places import Address

__all__ = [
    "Address",
    "Certificate",
    "FormOfUse",
    "HolderRole",
    "LandOrigin",
    "LandUse",
    "Mortgage",
    "RightsHolder",
]


class FormOfUse(enum.IntEnum):
    UNSPECIFIED = 0
    PRIVATE = 1
    SHARED = 2


class HolderRole(enum.IntEnum):
    UNSPECIFIED = 0
    INDIVIDUAL = 1
    HOUSEHOLD_HEAD = 2
    SPOUSE = 3
    REPRESENTATIVE = 4


class LandOrigin(enum.IntEnum):
    UNSPECIFIED = 0
    ALLOCATED_WITH_LEVY = 1
    ALLOCATED_WITHOUT_LEVY = 2
    LEASED_ANNUAL_PAYMENT = 3
    LEASED_ONE_OFF_PAYMENT = 4
    RECOGNISED = 5
    TRANSFERRED = 6
    INHERITED = 7
    DONATED = 8


@dataclass(frozen=True, slots=True)
class LandUse:
    """One purpose of use and its area in tenths of a square metre (exact arithmetic)."""

    code: str
    area_tenths: int


@dataclass(frozen=True, slots=True)
class Certificate:
    serial: str
    register_entry: str
    issue_date: date | None


@dataclass(frozen=True, slots=True)
class RightsHolder:
    """A holder of the land-use right: a citizen of the population registry.

    `share_bp` is the share in hundredths of a percent (10,000 is the whole right).
    """

    citizen_id: str
    full_name: str
    role: HolderRole
    share_bp: int
    deceased: bool = False
    date_of_death: date | None = None


@dataclass(frozen=True, slots=True)
class Mortgage:
    mortgage_id: str
    holder_enterprise_code: str
    registration_date: date
    release_date: date | None = None

    @property
    def in_force(self) -> bool:
        return self.release_date is None
