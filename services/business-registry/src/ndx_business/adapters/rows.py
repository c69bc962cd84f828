"""Rows <-> domain objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from ..domain.model import Enterprise
from ..domain.values import Address, EnterpriseType, LegalStatus, Representative


def enterprise_to_row(e: Enterprise) -> dict[str, Any]:
    return {
        "enterprise_code": e.enterprise_code,
        "name": e.name,
        "foreign_name": e.foreign_name,
        "short_name": e.short_name,
        "type": int(e.type),
        "legal_status": int(e.legal_status),
        "head_office_province": e.head_office.province_code,
        "head_office_ward": e.head_office.ward_code,
        "head_office_street": e.head_office.street,
        "charter_capital_vnd": e.charter_capital_vnd,
        "founding_date": e.founding_date,
        "representative_deceased": e.representative_deceased,
        "version": e.version,
        "updated_at": e.updated_at,
    }


def representative_rows(e: Enterprise) -> list[dict[str, Any]]:
    return [
        {
            "enterprise_code": e.enterprise_code,
            "position": i,
            "citizen_id": r.citizen_id,
            "name": r.full_name,
            "title": r.title,
            "deceased": r.deceased,
            "date_of_death": r.date_of_death,
        }
        for i, r in enumerate(e.legal_representatives)
    ]


def row_to_enterprise(
    row: RowMapping | Mapping[str, Any], reps: Iterable[RowMapping | Mapping[str, Any]]
) -> Enterprise:
    ordered = sorted(reps, key=lambda r: int(r["position"]))
    return Enterprise(
        enterprise_code=row["enterprise_code"],
        name=row["name"],
        foreign_name=row["foreign_name"],
        short_name=row["short_name"],
        type=EnterpriseType(row["type"]),
        legal_status=LegalStatus(row["legal_status"]),
        head_office=Address(
            row["head_office_province"], row["head_office_ward"], row["head_office_street"]
        ),
        charter_capital_vnd=row["charter_capital_vnd"],
        founding_date=row["founding_date"],
        legal_representatives=tuple(
            Representative(
                r["citizen_id"], r["name"], r["title"], bool(r["deceased"]), r["date_of_death"]
            )
            for r in ordered
        ),
        representative_deceased=bool(row["representative_deceased"]),
        version=row["version"],
        updated_at=row["updated_at"],
    )
