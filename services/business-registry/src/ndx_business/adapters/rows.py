"""Rows <-> domain objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from ..domain.model import Enterprise
from ..domain.values import (
    Address,
    Branch,
    BranchStatus,
    BusinessLine,
    EnterpriseType,
    LegalStatus,
    Member,
    Representative,
)


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


def child_rows(e: Enterprise) -> dict[str, list[dict[str, Any]]]:
    """Rows of every child table, by table name."""
    key = e.enterprise_code
    return {
        "representatives": representative_rows(e),
        "members": [
            {
                "enterprise_code": key,
                "position": i,
                "citizen_id": m.citizen_id,
                "member_enterprise_code": m.enterprise_code,
                "name": m.name,
                "capital_contribution_vnd": m.capital_contribution_vnd,
                "ownership_basis_points": m.ownership_basis_points,
            }
            for i, m in enumerate(e.members)
        ],
        "business_lines": [
            {"enterprise_code": key, "position": i, "vsic_code": b.vsic_code, "main": b.main}
            for i, b in enumerate(e.business_lines)
        ],
        "branches": [
            {
                "enterprise_code": key,
                "position": i,
                "branch_code": b.branch_code,
                "name": b.name,
                "province_code": b.address.province_code,
                "ward_code": b.address.ward_code,
                "street": b.address.street,
                "status": int(b.status),
            }
            for i, b in enumerate(e.branches)
        ],
    }


Rows = Iterable[RowMapping | Mapping[str, Any]]


def _ordered(rows: Rows) -> list[RowMapping | Mapping[str, Any]]:
    return sorted(rows, key=lambda r: int(r["position"]))


def row_to_enterprise(
    row: RowMapping | Mapping[str, Any], children: Mapping[str, Rows]
) -> Enterprise:
    ordered = _ordered(children.get("representatives", ()))
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
        members=tuple(
            Member(
                r["name"],
                r["capital_contribution_vnd"],
                r["ownership_basis_points"],
                r["citizen_id"],
                r["member_enterprise_code"],
            )
            for r in _ordered(children.get("members", ()))
        ),
        business_lines=tuple(
            BusinessLine(r["vsic_code"], bool(r["main"]))
            for r in _ordered(children.get("business_lines", ()))
        ),
        branches=tuple(
            Branch(
                r["branch_code"],
                r["name"],
                Address(r["province_code"], r["ward_code"], r["street"]),
                BranchStatus(r["status"]),
            )
            for r in _ordered(children.get("branches", ()))
        ),
        version=row["version"],
        updated_at=row["updated_at"],
    )
