"""The enterprise aggregate and its rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ndx_runtime.aggregate import (
    Change,
    check_version,
    data_fields,
    record_changed,
    record_created,
)
from ndx_runtime.errors import InvalidInput, RuleBroken, Violation

from .tax_code import tax_code_violation
from .values import Address, EnterpriseType, LegalStatus, Representative

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Statuses an enterprise may move to from each status; DISSOLVED is final.
TRANSITIONS: dict[LegalStatus, frozenset[LegalStatus]] = {
    LegalStatus.OPERATING: frozenset(
        {
            LegalStatus.SUSPENDED,
            LegalStatus.NOT_AT_REGISTERED_ADDRESS,
            LegalStatus.TAX_CODE_REVOKED,
            LegalStatus.DISSOLVING,
            LegalStatus.IN_BANKRUPTCY,
        }
    ),
    LegalStatus.SUSPENDED: frozenset(
        {LegalStatus.OPERATING, LegalStatus.DISSOLVING, LegalStatus.IN_BANKRUPTCY}
    ),
    LegalStatus.NOT_AT_REGISTERED_ADDRESS: frozenset(
        {LegalStatus.OPERATING, LegalStatus.TAX_CODE_REVOKED, LegalStatus.DISSOLVING}
    ),
    LegalStatus.TAX_CODE_REVOKED: frozenset({LegalStatus.OPERATING, LegalStatus.DISSOLVING}),
    LegalStatus.DISSOLVING: frozenset({LegalStatus.DISSOLVED, LegalStatus.IN_BANKRUPTCY}),
    LegalStatus.IN_BANKRUPTCY: frozenset({LegalStatus.DISSOLVED, LegalStatus.OPERATING}),
    LegalStatus.DISSOLVED: frozenset(),
}


@dataclass
class Enterprise:
    enterprise_code: str
    name: str
    type: EnterpriseType
    head_office: Address
    legal_representatives: tuple[Representative, ...]
    founding_date: date
    charter_capital_vnd: int = 0
    foreign_name: str = ""
    short_name: str = ""
    legal_status: LegalStatus = LegalStatus.OPERATING
    representative_deceased: bool = False
    version: int = 0
    updated_at: datetime = _EPOCH
    events: list[Change[Enterprise]] = field(default_factory=list, repr=False, compare=False)

    def violations(self) -> list[Violation]:
        problems: list[Violation] = []
        bad_code = tax_code_violation(self.enterprise_code)
        if bad_code:
            problems.append(Violation("enterprise_code", bad_code))
        if not self.name.strip():
            problems.append(Violation("name", "is required"))
        if self.type == EnterpriseType.UNSPECIFIED:
            problems.append(Violation("type", "is required"))
        if self.founding_date.year < 1900:  # date.min stands for "not given"
            problems.append(Violation("founding_date", "is required"))
        if self.charter_capital_vnd < 0:
            problems.append(Violation("charter_capital_vnd", "must not be negative"))
        if not self.legal_representatives:
            problems.append(Violation("legal_representatives", "at least one is required"))
        for i, rep in enumerate(self.legal_representatives):
            if len(rep.citizen_id) != 12 or not rep.citizen_id.isdigit():
                problems.append(
                    Violation(f"legal_representatives[{i}].citizen_id", "must be 12 digits")
                )
        return problems

    def check_version(self, expected: int) -> None:
        check_version(self.enterprise_code, expected, self.version)

    @classmethod
    def register(cls, enterprise: Enterprise, now: datetime) -> Enterprise:
        problems = enterprise.violations()
        if problems:
            raise InvalidInput(problems)
        enterprise.representative_deceased = _all_deceased(enterprise.legal_representatives)
        record_created(enterprise, now, DATA_FIELDS)
        return enterprise

    def change_legal_status(self, status: LegalStatus, now: datetime) -> None:
        if status == self.legal_status:
            return
        if status not in TRANSITIONS[self.legal_status]:
            raise RuleBroken(
                "legal_status", f"cannot change from {self.legal_status.name} to {status.name}"
            )
        before = self.snapshot()
        self.legal_status = status
        self._changed(before, now)

    def rename_representative(self, citizen_id: str, full_name: str, now: datetime) -> None:
        """Follows a citizen's new name; a no-op when the name is already current."""
        before = self.snapshot()
        self.legal_representatives = tuple(
            dataclasses.replace(r, full_name=full_name) if r.citizen_id == citizen_id else r
            for r in self.legal_representatives
        )
        self._changed(before, now)

    def representative_died(self, citizen_id: str, date_of_death: date, now: datetime) -> None:
        """Marks the citizen deceased; the enterprise is flagged once no representative lives."""
        before = self.snapshot()
        self.legal_representatives = tuple(
            dataclasses.replace(r, deceased=True, date_of_death=date_of_death)
            if r.citizen_id == citizen_id
            else r
            for r in self.legal_representatives
        )
        self.representative_deceased = _all_deceased(self.legal_representatives)
        self._changed(before, now)

    def snapshot(self) -> Enterprise:
        """A detached copy, without pending events."""
        return dataclasses.replace(self, events=[])

    def _changed(self, before: Enterprise, now: datetime) -> None:
        record_changed(self, before, now, DATA_FIELDS)


def _all_deceased(reps: tuple[Representative, ...]) -> bool:
    return bool(reps) and all(r.deceased for r in reps)


EnterpriseChange = Change[Enterprise]

DATA_FIELDS: tuple[str, ...] = data_fields(Enterprise)
