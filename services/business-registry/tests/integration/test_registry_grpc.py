"""The owner's writes over mTLS gRPC with a real broker: one event per change, version checks,
and bad input refused with the field named and nothing written."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import enterprise_pb2
from ndx.common.v1 import types_pb2

from ..conftest import Running
from .support import CODE, Make, bad_fields, events, register_request

Change = Callable[[enterprise_pb2.Enterprise], None]


async def test_register_publishes_exactly_one_event(
    business: Running, make_enterprise: Make
) -> None:
    created = await business.stub().RegisterEnterprise(register_request(make_enterprise))
    assert created.version == 1

    (event,) = await events(business, 1)
    assert event.enterprise_code == CODE
    assert event.op == types_pb2.CHANGE_OP_CREATE
    assert event.version == 1
    assert event.after.name == created.name
    assert event.after.members[0].ownership_percent == 100.0
    assert "legal_representatives" in event.changed_fields.paths


async def test_stale_status_change_is_aborted_without_event(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(register_request(make_enterprise))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.ChangeLegalStatus(
            pb.ChangeLegalStatusRequest(
                enterprise_code=CODE,
                legal_status=enterprise_pb2.LEGAL_STATUS_SUSPENDED,
                expected_version=5,
            )
        )
    assert e.value.code() is grpc.StatusCode.ABORTED
    assert len(await events(business, 1)) == 1


def _set(path: str, value: object) -> Change:
    def change(e: enterprise_pb2.Enterprise) -> None:
        *parents, name = path.split(".")
        target: object = e
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return change


def _only_line(code: str) -> Change:
    def change(e: enterprise_pb2.Enterprise) -> None:
        del e.business_lines[:]
        e.business_lines.add(vsic_code=code, main=True)

    return change


def _add_branch(code: str) -> Change:
    def change(e: enterprise_pb2.Enterprise) -> None:
        branch = e.branches.add(branch_code=code, name="Chi nhánh Hà Nội")
        branch.address.CopyFrom(e.head_office)

    return change


def _share(percent: float) -> Change:
    return lambda e: setattr(e.members[0], "ownership_percent", percent)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        # Tax code whose check digit is wrong (0100233488 is the valid one).
        ("enterprise.enterprise_code", _set("enterprise_code", "0100233489")),
        ("enterprise.charter_capital_vnd", _set("charter_capital_vnd", -5)),
        ("enterprise.business_lines[0].vsic_code", _only_line("9998")),
        # A branch code must start with the enterprise's own code.
        ("enterprise.branches[0].branch_code", _add_branch("0100109106-001")),
        ("enterprise.branches[0].branch_code", _add_branch("0100233488-01")),
        ("enterprise.branches[0].branch_code", _add_branch("0100233488-000")),
        ("enterprise.business_lines", lambda e: e.ClearField("business_lines")),
        ("enterprise.head_office.ward_code", _set("head_office.ward_code", "99999")),
        ("enterprise.members[0].ownership_percent", _share(60.0)),
        ("enterprise.members[0].ownership_percent", _share(99.999)),
        # 999 is no province's birth-registration code.
        (
            "enterprise.legal_representatives[0].citizen_id",
            lambda e: setattr(e.legal_representatives[0], "citizen_id", "999085012345"),
        ),
    ],
)
async def test_invalid_registration_names_the_field_and_writes_nothing(
    business: Running, make_enterprise: Make, field: str, change: Change
) -> None:
    request = register_request(make_enterprise)
    change(request.enterprise)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await business.stub().RegisterEnterprise(request)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_fields(e.value)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await business.stub().GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


def _update(changes: enterprise_pb2.Enterprise, paths: list[str], version: int) -> object:
    return pb.UpdateEnterpriseRequest(
        enterprise=changes, update_mask=FieldMask(paths=paths), expected_version=version
    )


async def test_update_and_change_of_representative_are_one_event_each(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(register_request(make_enterprise))
    changes = enterprise_pb2.Enterprise(enterprise_code=CODE, charter_capital_vnd=9_000_000_000)
    changes.business_lines.add(vsic_code="6201", main=True)
    changes.business_lines.add(vsic_code="6202")
    changes.members.add(
        citizen_id="001085012345",
        name="Nguyễn Văn An",
        capital_contribution_vnd=6_000_000_000,
        ownership_percent=66.67,
    )
    changes.members.add(
        enterprise_code="0100109106",
        name="Công ty Cổ phần Đầu tư Sao Việt",
        capital_contribution_vnd=3_000_000_000,
        ownership_percent=33.33,
    )
    paths = ["charter_capital_vnd", "business_lines", "members"]
    with pytest.raises(grpc.aio.AioRpcError) as one_member:
        # Two members: no longer a single-member LLC, and type is not updatable here.
        await stub.UpdateEnterprise(_update(changes, paths, 1))
    assert one_member.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(one_member.value) == {"enterprise.members"}

    del changes.members[1]
    changes.members[0].capital_contribution_vnd = 9_000_000_000
    changes.members[0].ownership_percent = 100
    updated = await stub.UpdateEnterprise(_update(changes, paths, 1))
    assert updated.version == 2
    assert [(b.vsic_code, b.main) for b in updated.business_lines] == [
        ("6201", True),
        ("6202", False),
    ]
    assert updated.business_lines[0].name == "Lập trình máy vi tính"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.UpdateEnterprise(_update(changes, ["type", "legal_status"], 2))
    assert bad_fields(refused.value) == {"update_mask"}
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.UpdateEnterprise(_update(changes, ["name"], 1))
    assert stale.value.code() is grpc.StatusCode.ABORTED

    new_rep = enterprise_pb2.LegalRepresentative(
        citizen_id="001190054321", full_name="Trần Thị Bình", title="Giám đốc"
    )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.ChangeLegalRepresentative(
            pb.ChangeLegalRepresentativeRequest(
                enterprise_code=CODE, legal_representatives=[new_rep], expected_version=1
            )
        )
    assert stale.value.code() is grpc.StatusCode.ABORTED
    changed = await stub.ChangeLegalRepresentative(
        pb.ChangeLegalRepresentativeRequest(
            enterprise_code=CODE, legal_representatives=[new_rep], expected_version=2
        )
    )
    assert [r.citizen_id for r in changed.legal_representatives] == ["001190054321"]
    assert not changed.representative_deceased
    stored = await stub.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert stored.version == 3
    assert stored.members[0].capital_contribution_vnd == 9_000_000_000
    assert [r.full_name for r in stored.legal_representatives] == ["Trần Thị Bình"]

    published = await events(business, 3)
    assert [(e.version, e.op) for e in published] == [
        (1, types_pb2.CHANGE_OP_CREATE),
        (2, types_pb2.CHANGE_OP_UPDATE),
        (3, types_pb2.CHANGE_OP_UPDATE),
    ]
    assert set(published[1].changed_fields.paths) == set(paths)
    assert published[1].before.charter_capital_vnd == 5_000_000_000
    assert published[1].after.charter_capital_vnd == 9_000_000_000
    assert list(published[2].changed_fields.paths) == ["legal_representatives"]


async def test_branches_and_names_are_updated_with_one_event(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    created = await stub.RegisterEnterprise(register_request(make_enterprise))
    changes = enterprise_pb2.Enterprise(
        enterprise_code=CODE, foreign_name="HOA BINH TRADING COMPANY LIMITED", short_name="HBT"
    )
    branch = changes.branches.add(
        branch_code=f"{CODE}-001",
        name="Chi nhánh Công ty TNHH Thương mại Hoà Bình tại Hà Nội",
        status=enterprise_pb2.BRANCH_STATUS_OPERATING,
    )
    branch.address.CopyFrom(created.head_office)
    paths = ["foreign_name", "short_name", "branches"]
    updated = await stub.UpdateEnterprise(_update(changes, paths, 1))
    assert (updated.version, updated.short_name) == (2, "HBT")
    assert [b.branch_code for b in updated.branches] == ["0100233488-001"]
    assert updated.branches[0].address.province_code == created.head_office.province_code

    *_, event = await events(business, 2)
    assert set(event.changed_fields.paths) == set(paths)
    assert event.version == 2
