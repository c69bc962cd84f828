"""Protobuf <-> domain conversion: contract types stop here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from ndx.land.v1 import events_pb2, parcel_pb2
from ndx_runtime.change_events import change_message
from ndx_runtime.errors import InvalidInput, Violation, Violations
from ndx_runtime.proto_values import (
    address_from_proto,
    address_to_proto,
    date_from_proto,
    date_to_proto,
    enum_from_proto,
)

from ..domain.model import Parcel, ParcelChange
from ..domain.values import (
    Address,
    Certificate,
    FormOfUse,
    HolderRole,
    LandOrigin,
    LandUse,
    Mortgage,
    RightsHolder,
)


def parcel_to_proto(p: Parcel) -> parcel_pb2.Parcel:
    out = parcel_pb2.Parcel(
        parcel_id=p.parcel_id,
        map_sheet_number=p.map_sheet_number,
        parcel_number=p.parcel_number,
        area_m2=p.area_tenths / 10,
        form_of_use=parcel_pb2.FormOfUse.ValueType(int(p.form_of_use)),
        long_term=p.long_term,
        origin=parcel_pb2.LandOrigin.ValueType(int(p.origin)),
        version=p.version,
    )
    address_to_proto(p.address, out.address)
    date_to_proto(p.term_end_date, out.term_end_date)
    for u in p.land_uses:
        out.land_uses.add(code=u.code, area_m2=u.area_tenths / 10)
    if p.certificate is not None:
        out.certificate.serial = p.certificate.serial
        out.certificate.register_entry = p.certificate.register_entry
        date_to_proto(p.certificate.issue_date, out.certificate.issue_date)
    for h in p.holders:
        out.holders.append(holder_to_proto(h))
    for m in p.mortgages:
        out.mortgages.append(mortgage_to_proto(m))
    out.update_time.FromDatetime(p.updated_at.astimezone(UTC))
    return out


def holder_to_proto(h: RightsHolder) -> parcel_pb2.RightsHolder:
    out = parcel_pb2.RightsHolder(
        citizen_id=h.citizen_id,
        full_name=h.full_name,
        role=parcel_pb2.HolderRole.ValueType(int(h.role)),
        share_percent=h.share_bp / 100,
        deceased=h.deceased,
    )
    date_to_proto(h.date_of_death, out.date_of_death)
    return out


def mortgage_to_proto(m: Mortgage) -> parcel_pb2.Mortgage:
    out = parcel_pb2.Mortgage(
        mortgage_id=m.mortgage_id, holder_enterprise_code=m.holder_enterprise_code
    )
    date_to_proto(m.registration_date, out.registration_date)
    date_to_proto(m.release_date, out.release_date)
    return out


def change_to_proto(change: ParcelChange) -> events_pb2.ParcelChanged:
    return change_message(events_pb2.ParcelChanged, change, parcel_to_proto, "parcel_id")


def scaled(value: float, scale: int, field: str) -> int:
    """`value` in units of 1/scale; InvalidInput when it has more decimals than that."""
    units = round(value * scale)
    if abs(value * scale - units) > 1e-6:
        places = len(str(scale)) - 1
        raise InvalidInput.one(field, f"at most {places} decimal place(s)")
    return units


def parcel_from_proto(p: parcel_pb2.Parcel) -> Parcel:
    """A new parcel as a client describes it; the domain validates it on register. A single
    land use without an area covers the whole parcel; an empty parcel id is derived."""
    problems = Violations()
    attempt = problems.take
    area = attempt(scaled, p.area_m2, 10, "area_m2") or 0
    uses = []
    for i, u in enumerate(p.land_uses):
        tenths = attempt(scaled, u.area_m2, 10, f"land_uses[{i}].area_m2") or 0
        if tenths == 0 and len(p.land_uses) == 1:
            tenths = area
        uses.append(LandUse(u.code.strip().upper(), tenths))
    holders = attempt(holders_from_proto, p.holders, "holders") or ()
    mortgages = []
    for i, m in enumerate(p.mortgages):
        found = attempt(mortgage_from_proto, m, f"mortgages[{i}]")
        if found is not None:
            mortgages.append(found)
    address = address_from_proto(p.address) or Address("", "")
    term_end = attempt(date_from_proto, p.term_end_date, "term_end_date")
    issue = attempt(date_from_proto, p.certificate.issue_date, "certificate.issue_date")
    form = attempt(enum_from_proto, FormOfUse, p.form_of_use, "form_of_use")
    origin = attempt(enum_from_proto, LandOrigin, p.origin, "origin")
    problems.raise_any()
    parcel_id = p.parcel_id or f"{address.ward_code}-{p.map_sheet_number}-{p.parcel_number}"
    return Parcel(
        parcel_id=parcel_id,
        map_sheet_number=p.map_sheet_number,
        parcel_number=p.parcel_number,
        address=address,
        area_tenths=area,
        land_uses=tuple(uses),
        form_of_use=form or FormOfUse.UNSPECIFIED,
        long_term=p.long_term,
        term_end_date=term_end,
        origin=origin or LandOrigin.UNSPECIFIED,
        certificate=Certificate(p.certificate.serial, p.certificate.register_entry, issue)
        if p.HasField("certificate")
        else None,
        holders=holders,
        mortgages=tuple(mortgages),
    )


def holders_from_proto(
    items: Iterable[parcel_pb2.RightsHolder], field: str
) -> tuple[RightsHolder, ...]:
    """Holders as a client names them; the deceased flag is the registry's and is ignored."""
    problems: list[Violation] = []
    out = []
    for i, h in enumerate(items):
        try:
            share = scaled(h.share_percent, 100, f"{field}[{i}].share_percent")
            role = enum_from_proto(HolderRole, h.role, f"{field}[{i}].role")
        except InvalidInput as e:
            problems.extend(e.violations)
            continue
        out.append(RightsHolder(h.citizen_id, h.full_name.strip(), role, share))
    if problems:
        raise InvalidInput(problems)
    return tuple(out)


def mortgage_from_proto(m: parcel_pb2.Mortgage, field: str) -> Mortgage:
    registered = date_from_proto(m.registration_date, f"{field}.registration_date")
    if registered is None:
        raise InvalidInput.one(f"{field}.registration_date", "is required")
    released = date_from_proto(m.release_date, f"{field}.release_date")
    return Mortgage(m.mortgage_id.strip(), m.holder_enterprise_code.strip(), registered, released)
