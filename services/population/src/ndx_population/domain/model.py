"""The citizen aggregate and its rules."""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ndx_runtime.aggregate import (
    Change,
    check_version,
    data_fields,
    record_changed,
    record_created,
)
from ndx_runtime.errors import InvalidInput, RuleBroken, Violation

from .identity_number import IdentityNumber, is_old_id_number
from .values import (
    Address,
    BloodType,
    Gender,
    HouseholdRelationship,
    IdentityCard,
    MaritalStatus,
)

# Fields an UpdateCitizen may change. The id, birth facts, death and bookkeeping are not among them:
# the id encodes birth facts, and a death has its own command.
UPDATABLE_FIELDS = frozenset(
    {
        "full_name",
        "other_names",
        "hometown",
        "ethnicity",
        "religion",
        "nationality",
        "blood_type",
        "old_id_number",
        "id_card",
        "father_id",
        "mother_id",
        "spouse_id",
        "permanent_address",
        "temporary_address",
        "current_address",
        "household_id",
        "relationship_to_head",
        "marital_status",
        "phone",
        "email",
    }
)


# The citizen's fields that hold one string each (names, codes, identifiers), and those that hold
# one code of an enumeration; both kinds are compared, mapped and read a column at a time.
TEXT_FIELDS = (
    "citizen_id",
    "full_name",
    "ethnicity",
    "religion",
    "nationality",
    "old_id_number",
    "father_id",
    "mother_id",
    "spouse_id",
    "household_id",
    "phone",
    "email",
)
CODE_FIELDS = ("gender", "blood_type", "relationship_to_head", "marital_status")


@dataclass(slots=True)
class Citizen:
    """A citizen of the national population database."""

    citizen_id: str
    full_name: str
    date_of_birth: date
    gender: Gender
    other_names: tuple[str, ...] = ()
    place_of_birth: Address | None = None
    hometown: Address | None = None
    ethnicity: str = ""
    religion: str = ""
    nationality: str = "VN"
    blood_type: BloodType = BloodType.UNSPECIFIED
    old_id_number: str = ""
    id_card: IdentityCard | None = None
    father_id: str = ""
    mother_id: str = ""
    spouse_id: str = ""
    permanent_address: Address | None = None
    temporary_address: Address | None = None
    current_address: Address | None = None
    household_id: str = ""
    relationship_to_head: HouseholdRelationship = HouseholdRelationship.UNSPECIFIED
    marital_status: MaritalStatus = MaritalStatus.UNSPECIFIED
    date_of_death: date | None = None
    phone: str = ""
    email: str = ""
    version: int = 0
    updated_at: datetime | None = None
    events: list[Change[Citizen]] = field(default_factory=list, repr=False, compare=False)

    # -- rules ----------------------------------------------------------------------------------

    def validate(self, today: date) -> None:
        """Checks the citizen as a whole; raises InvalidInput naming every broken field."""
        problems: list[Violation] = []
        try:
            number = IdentityNumber.parse(self.citizen_id)
        except InvalidInput as e:
            problems.extend(e.violations)
            number = None
        if not normalise_name(self.full_name):
            problems.append(Violation("full_name", "must not be empty"))
        elif len(self.full_name) > 200:
            problems.append(Violation("full_name", "must be at most 200 characters"))
        if self.date_of_birth > today:
            problems.append(Violation("date_of_birth", f"{self.date_of_birth} is in the future"))
        if self.gender is Gender.UNSPECIFIED:
            problems.append(Violation("gender", "must be GENDER_MALE or GENDER_FEMALE"))
        if number is not None:
            if number.birth_year != self.date_of_birth.year:
                problems.append(
                    Violation(
                        "date_of_birth",
                        f"year {self.date_of_birth.year} disagrees with citizen_id "
                        f"(digits 4-6 say {number.birth_year})",
                    )
                )
            if self.gender is not Gender.UNSPECIFIED and number.gender is not self.gender:
                problems.append(
                    Violation(
                        "gender", f"disagrees with citizen_id (4th digit says {number.gender.name})"
                    )
                )
        problems.extend(self._check_links())
        if self.old_id_number and not is_old_id_number(self.old_id_number):
            problems.append(Violation("old_id_number", "must be 9 digits"))
        if self.date_of_death is not None and not (
            self.date_of_birth <= self.date_of_death <= today
        ):
            problems.append(Violation("date_of_death", "must be between date_of_birth and today"))
        if (
            self.id_card
            and self.id_card.issue_date
            and self.id_card.issue_date < self.date_of_birth
        ):
            problems.append(Violation("id_card.issue_date", "is before date_of_birth"))
        if self.phone and not (self.phone.isascii() and self.phone.lstrip("+").isdigit()):
            problems.append(Violation("phone", "must be digits, optionally starting with +"))
        if self.email and "@" not in self.email:
            problems.append(Violation("email", "must be an e-mail address"))
        if problems:
            raise InvalidInput(problems)

    def _check_links(self) -> list[Violation]:
        problems = []
        for name in ("father_id", "mother_id", "spouse_id"):
            value = getattr(self, name)
            if not value:
                continue
            if value == self.citizen_id:
                problems.append(Violation(name, "must not be the citizen's own id"))
                continue
            try:
                IdentityNumber.parse(value, name)
            except InvalidInput as e:
                problems.extend(e.violations)
        return problems

    def check_version(self, expected: int) -> None:
        check_version(self.citizen_id, expected, self.version)

    def apply_update(self, changes: dict[str, Any], today: date, now: datetime) -> None:
        """Sets the named fields; raises InvalidInput for fields that may not change."""
        refused = [
            Violation(name, "cannot be changed by UpdateCitizen")
            for name in changes
            if name not in UPDATABLE_FIELDS
        ]
        if refused:
            raise InvalidInput(refused)
        if self.date_of_death is not None:
            raise RuleBroken(
                "date_of_death", f"citizen {self.citizen_id} is deceased; record is closed"
            )
        before = self.snapshot()
        for name, value in changes.items():
            setattr(self, name, value)
        self.validate(today)
        self._changed(before, now)

    def record_death(self, date_of_death: date, today: date, now: datetime) -> None:
        if self.date_of_death is not None:
            raise RuleBroken("date_of_death", f"already recorded as {self.date_of_death}")
        if not (self.date_of_birth <= date_of_death <= today):
            raise InvalidInput.one(
                "date_of_death",
                f"{date_of_death} must be between date_of_birth {self.date_of_birth} and today",
            )
        before = self.snapshot()
        self.date_of_death = date_of_death
        self._changed(before, now)

    @classmethod
    def register(cls, citizen: Citizen, today: date, now: datetime) -> Citizen:
        citizen.validate(today)
        record_created(citizen, now, changed_fields(None, citizen))
        return citizen

    # -- bookkeeping ----------------------------------------------------------------------------

    def snapshot(self) -> Citizen:
        """A detached copy, without pending events."""
        return dataclasses.replace(self, events=[])

    def _changed(self, before: Citizen, now: datetime) -> None:
        record_changed(self, before, now, DATA_FIELDS)


CitizenChange = Change[Citizen]

DATA_FIELDS: tuple[str, ...] = data_fields(Citizen)


def changed_fields(before: Citizen | None, after: Citizen) -> tuple[str, ...]:
    """Names of the data fields whose values differ (every set field for a new citizen)."""
    if before is None:
        empty = Citizen("", "", after.date_of_birth, Gender.UNSPECIFIED)
        return tuple(
            n for n in DATA_FIELDS if n == "date_of_birth" or getattr(after, n) != getattr(empty, n)
        )
    return tuple(n for n in DATA_FIELDS if getattr(before, n) != getattr(after, n))


def normalise_name(name: str) -> str:
    """Compares names the way an officer would: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())
