"""The enterprise aggregate and its rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ndx_runtime.aggregate import (
    Change,
    check_version,
    data_fields,
    record_changed,
    record_created,
)
from ndx_runtime.errors import InvalidInput, RuleBroken, Violation
from ndx_runtime.places import address_violations

from .ownership import member_violations
from .tax_code import tax_code_violation
from .values import (
    Address,
    Branch,
    BranchStatus,
    BusinessLine,
    EnterpriseType,
    LegalStatus,
    Member,
    Representative,
)
from .vsic import VSIC_2018

# Fields UpdateEnterprise may change. Code, type, founding date and status are not among them;
# representatives and status have their own commands.
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "foreign_name",
        "short_name",
        "head_office",
        "charter_capital_vnd",
        "members",
        "business_lines",
        "branches",
    }
)

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
    members: tuple[Member, ...] = ()
    business_lines: tuple[BusinessLine, ...] = ()
    branches: tuple[Branch, ...] = ()
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
        problems.extend(representative_violations(self.legal_representatives))
        if self.type != EnterpriseType.UNSPECIFIED:
            problems.extend(member_violations(self.type, self.charter_capital_vnd, self.members))
        problems.extend(self._line_violations())
        problems.extend(self._branch_violations())
        return problems

    def _line_violations(self) -> list[Violation]:
        problems = []
        for i, line in enumerate(self.business_lines):
            if line.vsic_code not in VSIC_2018:
                problems.append(
                    Violation(
                        f"business_lines[{i}].vsic_code",
                        f"{line.vsic_code!r} is not a VSIC 2018 class in the catalogue",
                    )
                )
        codes = [line.vsic_code for line in self.business_lines]
        if len(set(codes)) != len(codes):
            problems.append(Violation("business_lines", "a VSIC class appears twice"))
        if sum(line.main for line in self.business_lines) != 1:
            problems.append(
                Violation("business_lines", "give at least one line, exactly one of them main")
            )
        return problems

    def _branch_violations(self) -> list[Violation]:
        problems = []
        for i, b in enumerate(self.branches):
            parent, _, suffix = b.branch_code.partition("-")
            if parent != self.enterprise_code or not _is_branch_suffix(suffix):
                problems.append(
                    Violation(
                        f"branches[{i}].branch_code",
                        f"must be {self.enterprise_code}-NNN (the enterprise code and 3 digits)",
                    )
                )
            if not b.name.strip():
                problems.append(Violation(f"branches[{i}].name", "is required"))
            if b.status == BranchStatus.UNSPECIFIED:
                problems.append(Violation(f"branches[{i}].status", "is required"))
            problems.extend(address_violations(f"branches[{i}].address", b.address))
        codes = [b.branch_code for b in self.branches]
        if len(set(codes)) != len(codes):
            problems.append(Violation("branches", "a branch code appears twice"))
        return problems

    def check_version(self, expected: int) -> None:
        check_version(self.enterprise_code, expected, self.version)

    @classmethod
    def register(
        cls, enterprise: Enterprise, now: datetime, deceased: Collection[str] = ()
    ) -> Enterprise:
        """A new enterprise; `deceased` are the citizens the population registry records as
        dead, who can be neither its representatives nor its members."""
        problems = [
            *enterprise.violations(),
            *appointee_violations(enterprise.legal_representatives, deceased),
            *newcomer_violations(enterprise.members, deceased),
        ]
        if problems:
            raise InvalidInput(problems)
        enterprise.representative_deceased = _all_deceased(enterprise.legal_representatives)
        record_created(enterprise, now, DATA_FIELDS)
        return enterprise

    def apply_update(
        self, changes: dict[str, Any], now: datetime, deceased: Collection[str] = ()
    ) -> None:
        """Sets the named fields; InvalidInput for fields that may not change or bad values.
        Members the population registry records as dead (`deceased`) stay, but none joins."""
        refused = [
            Violation(name, "cannot be changed by UpdateEnterprise")
            for name in changes
            if name not in UPDATABLE_FIELDS
        ]
        if refused:
            raise InvalidInput(refused)
        self._open_for_change()
        before = self.snapshot()
        for name, value in changes.items():
            setattr(self, name, value)
        problems = self.violations()
        if "members" in changes:
            members = {m.citizen_id for m in before.members if m.citizen_id}
            problems.extend(newcomer_violations(self.members, deceased, members))
        if problems:
            for name in changes:  # leave the aggregate as it was
                setattr(self, name, getattr(before, name))
            raise InvalidInput(problems)
        self._changed(before, now)

    def change_representatives(
        self, reps: tuple[Representative, ...], now: datetime, deceased: Collection[str] = ()
    ) -> None:
        """New legal representatives. A citizen already on file keeps the death the registry
        recorded for them; no one the population registry records as dead (`deceased`) is
        newly appointed; the deceased flag is recomputed from the new list."""
        problems = representative_violations(reps)
        if not reps:
            problems.append(Violation("legal_representatives", "at least one is required"))
        on_file = {r.citizen_id for r in self.legal_representatives}
        problems.extend(appointee_violations(reps, deceased, on_file))
        if problems:
            raise InvalidInput(problems)
        self._open_for_change()
        known = {r.citizen_id: r for r in self.legal_representatives if r.deceased}
        reps = tuple(
            dataclasses.replace(r, deceased=True, date_of_death=known[r.citizen_id].date_of_death)
            if r.citizen_id in known
            else r
            for r in reps
        )
        before = self.snapshot()
        self.legal_representatives = reps
        self.representative_deceased = _all_deceased(reps)
        self._changed(before, now)

    def _open_for_change(self) -> None:
        if self.legal_status == LegalStatus.DISSOLVED:
            raise RuleBroken("legal_status", f"{self.enterprise_code} is dissolved; record closed")

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
        """Follows a representative's new name, in the list of members too when the citizen
        is also one; a no-op when the name is already current."""
        before = self.snapshot()
        self.legal_representatives = tuple(
            dataclasses.replace(r, full_name=full_name) if r.citizen_id == citizen_id else r
            for r in self.legal_representatives
        )
        self.members = tuple(
            dataclasses.replace(m, name=full_name) if m.citizen_id == citizen_id else m
            for m in self.members
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


def representative_violations(reps: tuple[Representative, ...]) -> list[Violation]:
    problems = []
    for i, rep in enumerate(reps):
        if not _is_citizen_id(rep.citizen_id):
            problems.append(
                Violation(f"legal_representatives[{i}].citizen_id", "must be 12 digits")
            )
        if not rep.full_name.strip():
            problems.append(Violation(f"legal_representatives[{i}].full_name", "is required"))
    ids = [r.citizen_id for r in reps]
    if len(set(ids)) != len(ids):
        problems.append(Violation("legal_representatives", "a citizen is listed twice"))
    return problems


def appointee_violations(
    reps: tuple[Representative, ...], deceased: Collection[str], on_file: Collection[str] = ()
) -> list[Violation]:
    """A deceased citizen cannot be appointed legal representative (one on file stays)."""
    return [
        Violation(
            f"legal_representatives[{i}].citizen_id",
            f"citizen {r.citizen_id} is recorded as deceased in the population registry; "
            "a deceased citizen cannot be appointed legal representative",
        )
        for i, r in enumerate(reps)
        if r.citizen_id in deceased and r.citizen_id not in on_file
    ]


def newcomer_violations(
    members: tuple[Member, ...], deceased: Collection[str], on_file: Collection[str] = ()
) -> list[Violation]:
    """A deceased citizen cannot become a member or owner (one on file stays until their
    share passes on)."""
    return [
        Violation(
            f"members[{i}].citizen_id",
            f"citizen {m.citizen_id} is recorded as deceased in the population registry; "
            "a deceased citizen cannot become a member or owner",
        )
        for i, m in enumerate(members)
        if m.citizen_id and m.citizen_id in deceased and m.citizen_id not in on_file
    ]


def _is_branch_suffix(value: str) -> bool:
    """The three digits after the enterprise code: 001 to 999."""
    return len(value) == 3 and value.isdigit() and value != "000"


def _is_citizen_id(value: str) -> bool:
    return len(value) == 12 and value.isdigit()


def _all_deceased(reps: tuple[Representative, ...]) -> bool:
    return bool(reps) and all(r.deceased for r in reps)


EnterpriseChange = Change[Enterprise]

DATA_FIELDS: tuple[str, ...] = data_fields(Enterprise)
