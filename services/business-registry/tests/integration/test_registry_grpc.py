"""The registry over mTLS gRPC with a real broker: statuses, details and published events."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import enterprise_pb2, events_pb2
from ndx.common.v1 import types_pb2
from ndx_business.adapters.proto_mapping import enterprise_to_proto
from ndx_business.domain.model import Enterprise
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic

from ..conftest import Running

Make = Callable[..., Enterprise]
CODE = "0100233488"


def _request(make_enterprise: Make) -> pb.RegisterEnterpriseRequest:
    return pb.RegisterEnterpriseRequest(enterprise=enterprise_to_proto(make_enterprise()))


def _bad_fields(error: grpc.aio.AioRpcError) -> set[str]:
    status = details_of(error)
    assert status is not None
    fields: set[str] = set()
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields |= {v.field for v in br.field_violations}
    return fields


async def _events(business: Running, at_least: int) -> list[events_pb2.EnterpriseChanged]:
    records = await read_topic(
        business.settings.kafka_bootstrap_servers,
        business.settings.enterprise_topic,
        at_least=at_least,
    )
    return [events_pb2.EnterpriseChanged.FromString(r.value) for r in records if r.value]


async def test_register_publishes_exactly_one_event(
    business: Running, make_enterprise: Make
) -> None:
    created = await business.stub().RegisterEnterprise(_request(make_enterprise))
    assert created.version == 1

    (event,) = await _events(business, 1)
    assert event.enterprise_code == CODE
    assert event.op == types_pb2.CHANGE_OP_CREATE
    assert event.after.name == created.name
    assert "legal_representatives" in event.changed_fields.paths


async def test_stale_status_change_is_aborted_without_event(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(_request(make_enterprise))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.ChangeLegalStatus(
            pb.ChangeLegalStatusRequest(
                enterprise_code=CODE,
                legal_status=enterprise_pb2.LEGAL_STATUS_SUSPENDED,
                expected_version=5,
            )
        )
    assert e.value.code() is grpc.StatusCode.ABORTED
    assert len(await _events(business, 1)) == 1


def _set(path: str, value: object) -> Callable[[enterprise_pb2.Enterprise], None]:
    def change(e: enterprise_pb2.Enterprise) -> None:
        *parents, name = path.split(".")
        target: object = e
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return change


def _add_line(code: str) -> Callable[[enterprise_pb2.Enterprise], None]:
    return lambda e: e.business_lines.add(vsic_code=code, main=True)


def _add_branch(code: str) -> Callable[[enterprise_pb2.Enterprise], None]:
    def change(e: enterprise_pb2.Enterprise) -> None:
        branch = e.branches.add(branch_code=code, name="Chi nhánh Hà Nội")
        branch.address.CopyFrom(e.head_office)

    return change


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("enterprise.enterprise_code", _set("enterprise_code", "0100233489")),
        ("enterprise.charter_capital_vnd", _set("charter_capital_vnd", -5)),
        ("enterprise.business_lines[0].vsic_code", _add_line("9998")),
        ("enterprise.branches[0].branch_code", _add_branch("0100109106-001")),
        ("enterprise.head_office.ward_code", _set("head_office.ward_code", "99999")),
    ],
)
async def test_invalid_input_names_the_field(
    business: Running,
    make_enterprise: Make,
    field: str,
    change: Callable[[enterprise_pb2.Enterprise], None],
) -> None:
    request = _request(make_enterprise)
    change(request.enterprise)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await business.stub().RegisterEnterprise(request)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in _bad_fields(e.value)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await business.stub().GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def test_verify_answers_match_and_mismatch_only(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(_request(make_enterprise))
    answer = await stub.VerifyEnterprise(
        pb.VerifyEnterpriseRequest(
            enterprise_code=CODE,
            claim_exists=True,
            claimed_legal_status=enterprise_pb2.LEGAL_STATUS_DISSOLVED,
            claimed_representative_citizen_id="001085012345",
        )
    )
    assert [(r.field, r.result) for r in answer.results] == [
        ("exists", types_pb2.VERIFY_RESULT_MATCH),
        ("legal_status", types_pb2.VERIFY_RESULT_MISMATCH),
        ("legal_representatives", types_pb2.VERIFY_RESULT_MATCH),
    ]


async def test_batch_get_and_list_by_each_filter(business: Running, make_enterprise: Make) -> None:
    stub = business.stub()
    for code in (CODE, "0100109106"):
        await stub.RegisterEnterprise(
            pb.RegisterEnterpriseRequest(enterprise=enterprise_to_proto(make_enterprise(code)))
        )
    batch = await stub.BatchGetEnterprises(
        pb.BatchGetEnterprisesRequest(enterprise_codes=[CODE, "0100112437"])
    )
    assert [e.enterprise_code for e in batch.enterprises] == [CODE]
    assert list(batch.missing_enterprise_codes) == ["0100112437"]

    rep = make_enterprise().legal_representatives[0].citizen_id
    first = await stub.ListEnterprises(
        pb.ListEnterprisesRequest(representative_citizen_id=rep, page_size=1)
    )
    second = await stub.ListEnterprises(
        pb.ListEnterprisesRequest(
            representative_citizen_id=rep, page_size=1, page_token=first.next_page_token
        )
    )
    codes = [e.enterprise_code for e in (*first.enterprises, *second.enterprises)]
    assert codes == sorted([CODE, "0100109106"])
    assert not second.next_page_token
    ward = make_enterprise().head_office.ward_code
    by_ward = await stub.ListEnterprises(pb.ListEnterprisesRequest(ward_code=ward))
    assert len(by_ward.enterprises) == 2
    operating = await stub.ListEnterprises(
        pb.ListEnterprisesRequest(legal_status=enterprise_pb2.LEGAL_STATUS_OPERATING)
    )
    assert len(operating.enterprises) == 2
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.ListEnterprises(pb.ListEnterprisesRequest(ward_code=ward, legal_status=1))
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.ListEnterprises(
            pb.ListEnterprisesRequest(ward_code=ward, page_token=first.next_page_token)
        )
    assert "page_token" in _bad_fields(e.value)


async def test_update_and_change_of_representative_are_one_event_each(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(_request(make_enterprise))
    changes = enterprise_pb2.Enterprise(enterprise_code=CODE, charter_capital_vnd=9_000_000_000)
    changes.business_lines.add(vsic_code="6201", main=True)
    changes.business_lines.add(vsic_code="6202")
    changes.members.add(
        citizen_id="001085012345", name="Nguyễn Văn An", capital_contribution_vnd=9_000_000_000
    )
    updated = await stub.UpdateEnterprise(
        pb.UpdateEnterpriseRequest(
            enterprise=changes,
            update_mask=FieldMask(paths=["charter_capital_vnd", "business_lines", "members"]),
            expected_version=1,
        )
    )
    assert updated.version == 2
    assert [(b.vsic_code, b.main) for b in updated.business_lines] == [
        ("6201", True),
        ("6202", False),
    ]
    assert updated.business_lines[0].name == "Lập trình máy vi tính"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.UpdateEnterprise(
            pb.UpdateEnterpriseRequest(
                enterprise=changes, update_mask=FieldMask(paths=["type"]), expected_version=2
            )
        )
    assert _bad_fields(refused.value) == {"update_mask"}

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
    stored = await stub.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert stored.members[0].capital_contribution_vnd == 9_000_000_000
    assert [r.full_name for r in stored.legal_representatives] == ["Trần Thị Bình"]

    published = await _events(business, 3)
    assert [e.version for e in published] == [1, 2, 3]
    assert set(published[1].changed_fields.paths) == {
        "charter_capital_vnd",
        "business_lines",
        "members",
    }
    assert list(published[2].changed_fields.paths) == ["legal_representatives"]
