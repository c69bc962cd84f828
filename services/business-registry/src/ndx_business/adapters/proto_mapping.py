"""Protobuf <-> domain conversion: contract types stop here."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date

from ndx.business.v1 import enterprise_pb2, events_pb2
from ndx_runtime.change_events import change_message
from ndx_runtime.errors import InvalidInput, Violation
from ndx_runtime.proto_values import (
    address_from_proto,
    address_to_proto,
    date_from_proto,
    date_to_proto,
    enum_from_proto,
)

from ..domain.model import Enterprise, EnterpriseChange
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
from ..domain.vsic import vsic_name


def enterprise_to_proto(e: Enterprise) -> enterprise_pb2.Enterprise:
    out = enterprise_pb2.Enterprise(
        enterprise_code=e.enterprise_code,
        name=e.name,
        foreign_name=e.foreign_name,
        short_name=e.short_name,
        type=enterprise_pb2.EnterpriseType.ValueType(int(e.type)),
        legal_status=enterprise_pb2.LegalStatus.ValueType(int(e.legal_status)),
        charter_capital_vnd=e.charter_capital_vnd,
        representative_deceased=e.representative_deceased,
        version=e.version,
    )
    address_to_proto(e.head_office, out.head_office)
    date_to_proto(e.founding_date, out.founding_date)
    for r in e.legal_representatives:
        rep = out.legal_representatives.add(
            citizen_id=r.citizen_id, full_name=r.full_name, title=r.title, deceased=r.deceased
        )
        date_to_proto(r.date_of_death, rep.date_of_death)
    for m in e.members:
        out.members.add(
            citizen_id=m.citizen_id,
            enterprise_code=m.enterprise_code,
            name=m.name,
            capital_contribution_vnd=m.capital_contribution_vnd,
            ownership_percent=m.ownership_basis_points / 100,
        )
    for line in e.business_lines:
        out.business_lines.add(
            vsic_code=line.vsic_code, name=vsic_name(line.vsic_code) or "", main=line.main
        )
    for b in e.branches:
        branch = out.branches.add(
            branch_code=b.branch_code,
            name=b.name,
            status=enterprise_pb2.BranchStatus.ValueType(int(b.status)),
        )
        address_to_proto(b.address, branch.address)
    out.update_time.FromDatetime(e.updated_at.astimezone(UTC))
    return out


def change_to_proto(change: EnterpriseChange) -> events_pb2.EnterpriseChanged:
    return change_message(
        events_pb2.EnterpriseChanged, change, enterprise_to_proto, "enterprise_code"
    )


def enterprise_from_proto(p: enterprise_pb2.Enterprise) -> Enterprise:
    """A new enterprise as a client describes it; the domain validates it on register."""
    return Enterprise(
        enterprise_code=p.enterprise_code,
        name=p.name,
        foreign_name=p.foreign_name,
        short_name=p.short_name,
        type=enum_from_proto(EnterpriseType, p.type, "type"),
        legal_status=enum_from_proto(LegalStatus, p.legal_status, "legal_status")
        or LegalStatus.OPERATING,
        head_office=address_from_proto(p.head_office) or Address("", ""),
        charter_capital_vnd=p.charter_capital_vnd,
        founding_date=date_from_proto(p.founding_date, "founding_date") or date.min,
        legal_representatives=representatives_from_proto(p.legal_representatives),
        members=members_from_proto(p.members),
        business_lines=tuple(BusinessLine(b.vsic_code.strip(), b.main) for b in p.business_lines),
        branches=tuple(
            Branch(
                b.branch_code.strip(),
                b.name.strip(),
                address_from_proto(b.address) or Address("", ""),
                enum_from_proto(BranchStatus, b.status, f"branches[{i}].status")
                or BranchStatus.OPERATING,
            )
            for i, b in enumerate(p.branches)
        ),
    )


def members_from_proto(members: Iterable[enterprise_pb2.Member]) -> tuple[Member, ...]:
    """Members as a client gives them; a share with more than two decimals is refused."""
    problems: list[Violation] = []
    out = []
    for i, m in enumerate(members):
        basis_points = round(m.ownership_percent * 100)
        if (
            not math.isfinite(m.ownership_percent)
            or abs(m.ownership_percent * 100 - basis_points) > 1e-6
        ):
            problems.append(
                Violation(f"members[{i}].ownership_percent", "use at most two decimals, e.g. 33.33")
            )
        out.append(
            Member(
                m.name.strip(),
                m.capital_contribution_vnd,
                basis_points,
                m.citizen_id.strip(),
                m.enterprise_code.strip(),
            )
        )
    if problems:
        raise InvalidInput(problems)
    return tuple(out)


def representatives_from_proto(
    reps: Iterable[enterprise_pb2.LegalRepresentative],
) -> tuple[Representative, ...]:
    """Representatives as a client names them; deceased flags are the registry's."""
    return tuple(Representative(r.citizen_id, r.full_name.strip(), r.title) for r in reps)
