"""Rows <-> domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping

from ..domain.model import Parcel
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

Row = RowMapping | Mapping[str, Any]


def parcel_to_row(p: Parcel) -> dict[str, Any]:
    cert = p.certificate
    return {
        "parcel_id": p.parcel_id,
        "province_code": p.address.province_code,
        "ward_code": p.address.ward_code,
        "street": p.address.street,
        "map_sheet_number": p.map_sheet_number,
        "parcel_number": p.parcel_number,
        "area_tenths": p.area_tenths,
        "form_of_use": int(p.form_of_use),
        "long_term": p.long_term,
        "term_end_date": p.term_end_date,
        "origin": int(p.origin),
        "certificate_serial": cert.serial if cert else None,
        "certificate_register_entry": cert.register_entry if cert else None,
        "certificate_issue_date": cert.issue_date if cert else None,
        "version": p.version,
        "updated_at": p.updated_at,
    }


def child_rows(p: Parcel) -> dict[str, list[dict[str, Any]]]:
    """Rows of the child tables, by table name."""
    key = p.parcel_id
    return {
        "land_uses": [
            {"parcel_id": key, "position": i, "code": u.code, "area_tenths": u.area_tenths}
            for i, u in enumerate(p.land_uses)
        ],
        "holders": [
            {
                "parcel_id": key,
                "position": i,
                "citizen_id": h.citizen_id,
                "name": h.full_name,
                "role": int(h.role),
                "share_bp": h.share_bp,
                "deceased": h.deceased,
                "date_of_death": h.date_of_death,
            }
            for i, h in enumerate(p.holders)
        ],
        "mortgages": [
            {
                "parcel_id": key,
                "position": i,
                "mortgage_id": m.mortgage_id,
                "holder_enterprise_code": m.holder_enterprise_code,
                "registration_date": m.registration_date,
                "release_date": m.release_date,
            }
            for i, m in enumerate(p.mortgages)
        ],
    }


def _ordered(rows: Sequence[RowMapping]) -> list[RowMapping]:
    return sorted(rows, key=lambda r: int(r["position"]))


def row_to_parcel(row: Row, children: Mapping[str, Sequence[RowMapping]]) -> Parcel:
    serial = row["certificate_serial"]
    return Parcel(
        parcel_id=row["parcel_id"],
        map_sheet_number=row["map_sheet_number"],
        parcel_number=row["parcel_number"],
        address=Address(row["province_code"], row["ward_code"], row["street"]),
        area_tenths=row["area_tenths"],
        land_uses=tuple(
            LandUse(r["code"], r["area_tenths"]) for r in _ordered(children.get("land_uses", ()))
        ),
        form_of_use=FormOfUse(row["form_of_use"]),
        long_term=bool(row["long_term"]),
        term_end_date=row["term_end_date"],
        origin=LandOrigin(row["origin"]),
        certificate=Certificate(
            serial, row["certificate_register_entry"], row["certificate_issue_date"]
        )
        if serial
        else None,
        holders=tuple(
            RightsHolder(
                r["citizen_id"],
                r["name"],
                HolderRole(r["role"]),
                r["share_bp"],
                bool(r["deceased"]),
                r["date_of_death"],
            )
            for r in _ordered(children.get("holders", ()))
        ),
        mortgages=tuple(
            Mortgage(
                r["mortgage_id"],
                r["holder_enterprise_code"],
                r["registration_date"],
                r["release_date"],
            )
            for r in _ordered(children.get("mortgages", ()))
        ),
        version=row["version"],
        updated_at=row["updated_at"],
    )
