"""The registry over mTLS gRPC with a real broker: statuses, details and published events."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
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


@pytest.mark.parametrize(
    ("field", "value"),
    [("enterprise_code", "0100233489"), ("charter_capital_vnd", -5)],
)
async def test_invalid_input_names_the_field(
    business: Running, make_enterprise: Make, field: str, value: object
) -> None:
    request = _request(make_enterprise)
    setattr(request.enterprise, field, value)
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
