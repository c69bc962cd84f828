"""The parcel aggregate and its rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from stdnum.vn import mst

from ndx_runtime.aggregate import (
    Change,
    check_version,
    data_fields,
    record_changed,
    record_created,
)
from ndx_runtime.errors import InvalidInput, RuleBroken, Violation

from .land_use import LAND_TYPES, RESIDENTIAL
from .values import (
    Address,
    Certificate,
    FormOfUse,
    HolderRole,
    LandOrigin,
    LandUse,
    Mortgage,
    RightsHolder,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WHOLE = 10_000  # shares in hundredths of a percent
MAX_AREA_TENTHS = 10_000_000_000  # 1,000 km²
_SERIAL = re.compile(r"[A-Z]{2} \d{8}")
_PARCEL_ID = re.compile(r"(\d{5})-(\d{1,4})-(\d{1,5})")


def parcel_id(ward_code: str, map_sheet_number: int, parcel_number: int) -> str:
    """The parcel's key: ward code, map sheet and parcel number ("00004-12-345")."""
    return f"{ward_code}-{map_sheet_number}-{parcel_number}"


def parcel_id_violation(value: str, field: str = "parcel_id") -> Violation | None:
    if not _PARCEL_ID.fullmatch(value):
        return Violation(field, "must be <5-digit ward code>-<map sheet>-<parcel number>")
    return None


@dataclass
class Parcel:
    parcel_id: str
    map_sheet_number: int
    parcel_number: int
    address: Address
    area_tenths: int
    land_uses: tuple[LandUse, ...]
    form_of_use: FormOfUse
    long_term: bool
    term_end_date: date | None
    origin: LandOrigin
    certificate: Certificate | None
    holders: tuple[RightsHolder, ...]
    mortgages: tuple[Mortgage, ...] = ()
    version: int = 0
    updated_at: datetime = _EPOCH
    events: list[Change[Parcel]] = field(default_factory=list, repr=False, compare=False)

    # -- rules ----------------------------------------------------------------------------------

    def violations(self, today: date) -> list[Violation]:
        problems: list[Violation] = []
        if not (1 <= self.map_sheet_number <= 9999):
            problems.append(Violation("map_sheet_number", "must be 1 to 9999"))
        if not (1 <= self.parcel_number <= 99999):
            problems.append(Violation("parcel_number", "must be 1 to 99999"))
        derived = parcel_id(self.address.ward_code, self.map_sheet_number, self.parcel_number)
        if self.parcel_id != derived:
            problems.append(
                Violation("parcel_id", f"must be {derived!r} (ward-map sheet-parcel number)")
            )
        if not (0 < self.area_tenths <= MAX_AREA_TENTHS):
            problems.append(Violation("area_m2", "must be more than 0 and at most 1,000 km²"))
        problems.extend(self._land_use_violations())
        if self.form_of_use == FormOfUse.UNSPECIFIED:
            problems.append(Violation("form_of_use", "is required"))
        if self.origin == LandOrigin.UNSPECIFIED:
            problems.append(Violation("origin", "is required"))
        problems.extend(self._term_violations())
        if self.certificate is not None:
            problems.extend(_certificate_violations(self.certificate, today))
        problems.extend(holder_violations(self.holders, self.form_of_use))
        for i, m in enumerate(self.mortgages):
            problems.extend(mortgage_violations(m, today, f"mortgages[{i}]"))
        return problems

    def _land_use_violations(self) -> list[Violation]:
        if not self.land_uses:
            return [Violation("land_uses", "at least one land use is required")]
        problems = []
        for i, use in enumerate(self.land_uses):
            if use.code not in LAND_TYPES:
                problems.append(
                    Violation(
                        f"land_uses[{i}].code",
                        f"{use.code!r} is not a land-type code of Circular 08/2024/TT-BTNMT",
                    )
                )
            if use.area_tenths <= 0:
                problems.append(Violation(f"land_uses[{i}].area_m2", "must be more than 0"))
        codes = [u.code for u in self.land_uses]
        if len(set(codes)) != len(codes):
            problems.append(Violation("land_uses", "a land-type code appears twice"))
        total = sum(u.area_tenths for u in self.land_uses)
        if self.area_tenths > 0 and total != self.area_tenths:
            problems.append(
                Violation(
                    "land_uses",
                    f"areas add up to {total / 10:.1f} m², not the parcel's "
                    f"{self.area_tenths / 10:.1f} m²",
                )
            )
        return problems

    def _term_violations(self) -> list[Violation]:
        if self.long_term and self.term_end_date is not None:
            return [Violation("term_end_date", "must be empty for long-term use")]
        if not self.long_term and self.term_end_date is None:
            return [Violation("term_end_date", "is required unless the use is long-term")]
        if not self.long_term and any(u.code in RESIDENTIAL for u in self.land_uses):
            # Land Law 2024, art. 171: residential land is used long-term.
            return [Violation("long_term", "residential land (ONT, ODT) is used long-term")]
        return []

    def check_version(self, expected: int) -> None:
        check_version(self.parcel_id, expected, self.version)

    @classmethod
    def register(
        cls, parcel: Parcel, today: date, now: datetime, deceased: Collection[str] = ()
    ) -> Parcel:
        """A new parcel; `deceased` are the citizens the population registry records as dead,
        who cannot be its holders."""
        problems = parcel.violations(today) + acquirer_violations(parcel.holders, deceased)
        if problems:
            raise InvalidInput(problems)
        record_created(parcel, now, DATA_FIELDS)
        return parcel

    def transfer(
        self,
        holders: tuple[RightsHolder, ...],
        origin: LandOrigin,
        now: datetime,
        deceased: Collection[str] = (),
    ) -> None:
        """New holders of the whole right; refused while a mortgage is in force. The form of
        use follows the holders: shared for several, private for one. `deceased` are the
        citizens the population registry records as dead."""
        form = FormOfUse.SHARED if len(holders) > 1 else FormOfUse.PRIVATE
        problems = holder_violations(holders, form)
        if origin == LandOrigin.UNSPECIFIED:
            problems.append(Violation("origin", "is required"))
        problems.extend(acquirer_violations(holders, deceased))
        if problems:
            raise InvalidInput(problems)
        active = [m.mortgage_id for m in self.mortgages if m.in_force]
        if active:
            raise RuleBroken(
                "mortgages", f"mortgage {', '.join(active)} is in force; release it first"
            )
        before = self.snapshot()
        self.holders = holders
        self.form_of_use = form
        self.origin = origin
        self._changed(before, now)

    def register_mortgage(self, mortgage: Mortgage, today: date, now: datetime) -> None:
        problems = mortgage_violations(mortgage, today, "mortgage")
        if mortgage.release_date is not None:
            problems.append(Violation("mortgage.release_date", "is set by ReleaseMortgage"))
        if problems:
            raise InvalidInput(problems)
        if any(m.mortgage_id == mortgage.mortgage_id for m in self.mortgages):
            raise RuleBroken("mortgage.mortgage_id", f"{mortgage.mortgage_id} is already recorded")
        if all(h.deceased for h in self.holders):
            raise RuleBroken("holders", "every holder of the right is deceased")
        before = self.snapshot()
        self.mortgages = (*self.mortgages, mortgage)
        self._changed(before, now)

    def release_mortgage(
        self, mortgage_id: str, released: date, today: date, now: datetime
    ) -> None:
        found = [m for m in self.mortgages if m.mortgage_id == mortgage_id]
        if not found:
            raise InvalidInput.one("mortgage_id", f"no mortgage {mortgage_id!r} on this parcel")
        mortgage = found[0]
        if not mortgage.in_force:
            raise RuleBroken(
                "mortgage_id", f"{mortgage_id} was released on {mortgage.release_date}"
            )
        if not (mortgage.registration_date <= released <= today):
            raise InvalidInput.one(
                "release_date", "must be between the registration date and today"
            )
        before = self.snapshot()
        self.mortgages = tuple(
            dataclasses.replace(m, release_date=released) if m.mortgage_id == mortgage_id else m
            for m in self.mortgages
        )
        self._changed(before, now)

    def rename_holder(self, citizen_id: str, full_name: str, now: datetime) -> None:
        """Follows a citizen's new name; a no-op when the name is already current."""
        before = self.snapshot()
        self.holders = tuple(
            dataclasses.replace(h, full_name=full_name) if h.citizen_id == citizen_id else h
            for h in self.holders
        )
        self._changed(before, now)

    def holder_died(self, citizen_id: str, date_of_death: date, now: datetime) -> None:
        """Marks the holder deceased; the right passes on only through a transfer."""
        before = self.snapshot()
        self.holders = tuple(
            dataclasses.replace(h, deceased=True, date_of_death=date_of_death)
            if h.citizen_id == citizen_id
            else h
            for h in self.holders
        )
        self._changed(before, now)

    def holds_right(self, citizen_id: str) -> bool:
        return any(h.citizen_id == citizen_id for h in self.holders)

    # -- bookkeeping ----------------------------------------------------------------------------

    def snapshot(self) -> Parcel:
        """A detached copy, without pending events."""
        return dataclasses.replace(self, events=[])

    def _changed(self, before: Parcel, now: datetime) -> None:
        record_changed(self, before, now, DATA_FIELDS)


def holder_violations(holders: tuple[RightsHolder, ...], form: FormOfUse) -> list[Violation]:
    if not holders:
        return [Violation("holders", "at least one rights holder is required")]
    problems = []
    for i, h in enumerate(holders):
        if len(h.citizen_id) != 12 or not h.citizen_id.isdigit():
            problems.append(Violation(f"holders[{i}].citizen_id", "must be 12 digits"))
        if not h.full_name.strip():
            problems.append(Violation(f"holders[{i}].full_name", "is required"))
        if h.role == HolderRole.UNSPECIFIED:
            problems.append(Violation(f"holders[{i}].role", "is required"))
        if not (0 < h.share_bp <= WHOLE):
            problems.append(Violation(f"holders[{i}].share_percent", "must be more than 0"))
    ids = [h.citizen_id for h in holders]
    if len(set(ids)) != len(ids):
        problems.append(Violation("holders", "a citizen is listed twice"))
    total = sum(h.share_bp for h in holders)
    if total != WHOLE:
        problems.append(Violation("holders", f"shares add up to {total / 100:.2f}%, not 100%"))
    if form == FormOfUse.SHARED and len(holders) < 2:
        problems.append(Violation("form_of_use", "shared use needs at least two holders"))
    return problems


def acquirer_violations(
    holders: tuple[RightsHolder, ...], deceased: Collection[str]
) -> list[Violation]:
    """A deceased citizen cannot acquire a right (by registration or transfer)."""
    return [
        Violation(
            f"holders[{i}].citizen_id",
            f"citizen {h.citizen_id} is recorded as deceased in the population registry; "
            "a deceased citizen cannot acquire a land-use right",
        )
        for i, h in enumerate(holders)
        if h.deceased or h.citizen_id in deceased
    ]


def mortgage_violations(m: Mortgage, today: date, prefix: str) -> list[Violation]:
    problems = []
    if not m.mortgage_id.strip():
        problems.append(Violation(f"{prefix}.mortgage_id", "is required"))
    if not mst.is_valid(m.holder_enterprise_code) or len(m.holder_enterprise_code) != 10:
        problems.append(
            Violation(
                f"{prefix}.holder_enterprise_code",
                "must be a 10-digit enterprise tax code with a valid check digit",
            )
        )
    if m.registration_date > today:
        problems.append(Violation(f"{prefix}.registration_date", "is in the future"))
    if m.release_date is not None and m.release_date < m.registration_date:
        problems.append(Violation(f"{prefix}.release_date", "is before the registration date"))
    return problems


def _certificate_violations(c: Certificate, today: date) -> list[Violation]:
    problems = []
    if not _SERIAL.fullmatch(c.serial):
        problems.append(
            Violation("certificate.serial", "must be two capital letters, a space, 8 digits")
        )
    if not c.register_entry.strip():
        problems.append(Violation("certificate.register_entry", "is required"))
    if c.issue_date is None:
        problems.append(Violation("certificate.issue_date", "is required"))
    elif c.issue_date > today:
        problems.append(Violation("certificate.issue_date", "is in the future"))
    return problems


ParcelChange = Change[Parcel]

DATA_FIELDS: tuple[str, ...] = data_fields(Parcel)
