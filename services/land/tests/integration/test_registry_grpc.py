"""The land registry over mTLS gRPC with a real broker: reads, verification, writes, events."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from ndx.common.v1 import types_pb2
from ndx.land.v1 import events_pb2, parcel_pb2
from ndx.land.v1 import land_service_pb2 as pb
from ndx_land.adapters.proto_mapping import parcel_to_proto
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic

from ..conftest import AN, BINH, MakeParcel, Running

VCB = "0100112437"


def bad_fields(error: grpc.aio.AioRpcError) -> set[str]:
    status = details_of(error)
    assert status is not None
    found: set[str] = set()
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found |= {v.field for v in request.field_violations}
    return found


def register_request(make_parcel: MakeParcel, number: int = 345) -> pb.RegisterParcelRequest:
    proto = parcel_to_proto(make_parcel(number))
    proto.ClearField("version")
    proto.ClearField("update_time")
    return pb.RegisterParcelRequest(parcel=proto)


async def events(land: Running, at_least: int) -> list[events_pb2.ParcelChanged]:
    records = await read_topic(
        land.settings.kafka_bootstrap_servers, land.settings.parcel_topic, at_least=at_least
    )
    return [events_pb2.ParcelChanged.FromString(r.value) for r in records if r.value]


async def test_register_then_read_list_and_verify(land: Running, make_parcel: MakeParcel) -> None:
    stub = land.stub()
    created = await stub.RegisterParcel(register_request(make_parcel))
    await stub.RegisterParcel(register_request(make_parcel, 346))
    assert created.version == 1
    assert created.address.ward_name  # filled in from the gazetteer
    assert created.area_m2 == pytest.approx(120.5)

    got = await stub.GetParcel(
        pb.GetParcelRequest(parcel_id=created.parcel_id, read_mask=FieldMask(paths=["holders"]))
    )
    assert [h.citizen_id for h in got.holders] == [AN.citizen_id, BINH.citizen_id]
    assert not got.area_m2  # not asked for

    batch = await stub.BatchGetParcels(
        pb.BatchGetParcelsRequest(parcel_ids=[created.parcel_id, "00004-99-9"])
    )
    assert [p.parcel_id for p in batch.parcels] == [created.parcel_id]
    assert list(batch.missing_parcel_ids) == ["00004-99-9"]

    first = await stub.ListParcels(
        pb.ListParcelsRequest(holder_citizen_id=AN.citizen_id, page_size=1)
    )
    second = await stub.ListParcels(
        pb.ListParcelsRequest(
            holder_citizen_id=AN.citizen_id, page_size=1, page_token=first.next_page_token
        )
    )
    assert [p.parcel_number for p in (*first.parcels, *second.parcels)] == [345, 346]
    assert not second.next_page_token
    ward = await stub.ListParcels(pb.ListParcelsRequest(ward_code=created.address.ward_code))
    assert len(ward.parcels) == 2

    async def verify(parcel_id: str, citizen_id: str) -> int:
        reply = await stub.VerifyLandRight(
            pb.VerifyLandRightRequest(parcel_id=parcel_id, citizen_id=citizen_id)
        )
        return reply.result

    assert await verify(created.parcel_id, AN.citizen_id) == types_pb2.VERIFY_RESULT_MATCH
    assert await verify(created.parcel_id, "001201000001") == types_pb2.VERIFY_RESULT_MISMATCH
    assert await verify("00004-99-9", AN.citizen_id) == types_pb2.VERIFY_RESULT_UNKNOWN


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: setattr(p.land_uses[0], "code", "XYZ"), "parcel.land_uses[0].code"),
        (lambda p: setattr(p, "area_m2", -12.5), "parcel.area_m2"),
        (lambda p: setattr(p.certificate, "serial", "AA1695788"), "parcel.certificate.serial"),
        (lambda p: setattr(p.address, "ward_code", "99999"), "parcel.address.ward_code"),
        (lambda p: setattr(p, "area_m2", 120.55), "parcel.area_m2"),
    ],
)
async def test_invalid_input_is_refused_naming_the_field_and_nothing_is_written(
    land: Running, make_parcel: MakeParcel, change: object, field: str
) -> None:
    request = register_request(make_parcel)
    change(request.parcel)  # type: ignore[operator]
    stub = land.stub()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterParcel(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_fields(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetParcel(pb.GetParcelRequest(parcel_id=make_parcel().parcel_id))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_each_write_is_one_event_and_stale_versions_are_refused(
    land: Running, make_parcel: MakeParcel
) -> None:
    stub = land.stub()
    created = await stub.RegisterParcel(register_request(make_parcel))
    mortgage = parcel_pb2.Mortgage(mortgage_id="TC-0000001", holder_enterprise_code=VCB)
    mortgage.registration_date.year, mortgage.registration_date.month = 2025, 3
    mortgage.registration_date.day = 1
    mortgaged = await stub.RegisterMortgage(
        pb.RegisterMortgageRequest(
            parcel_id=created.parcel_id, mortgage=mortgage, expected_version=1
        )
    )
    assert mortgaged.version == 2

    buyer = parcel_pb2.RightsHolder(
        citizen_id="001201000001",
        full_name="Lê Văn Mua",
        role=parcel_pb2.HOLDER_ROLE_INDIVIDUAL,
        share_percent=100,
    )
    transfer = pb.TransferRightsRequest(
        parcel_id=created.parcel_id,
        holders=[buyer],
        origin=parcel_pb2.LAND_ORIGIN_TRANSFERRED,
        expected_version=1,
    )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.TransferRights(transfer)
    assert stale.value.code() == grpc.StatusCode.ABORTED
    transfer.expected_version = 2
    with pytest.raises(grpc.aio.AioRpcError) as mortgaged_error:
        await stub.TransferRights(transfer)
    assert mortgaged_error.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    released = pb.ReleaseMortgageRequest(
        parcel_id=created.parcel_id, mortgage_id="TC-0000001", expected_version=2
    )
    released.release_date.year, released.release_date.month, released.release_date.day = (
        2025,
        9,
        1,
    )
    await stub.ReleaseMortgage(released)
    transfer.expected_version = 3
    sold = await stub.TransferRights(transfer)
    assert sold.version == 4
    assert sold.form_of_use == parcel_pb2.FORM_OF_USE_PRIVATE
    stored = await stub.GetParcel(pb.GetParcelRequest(parcel_id=created.parcel_id))
    assert [h.full_name for h in stored.holders] == ["Lê Văn Mua"]
    assert [(m.mortgage_id, m.release_date.month) for m in stored.mortgages] == [("TC-0000001", 9)]
    assert [u.code for u in stored.land_uses] == ["ODT"]

    published = await events(land, 4)
    assert [e.version for e in published] == [1, 2, 3, 4]
    assert published[0].op == types_pb2.CHANGE_OP_CREATE
    assert set(published[3].changed_fields.paths) == {"holders", "form_of_use"}


async def test_an_agency_cannot_call_the_registry_directly(land: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land.stub("police").GetParcel(pb.GetParcelRequest(parcel_id="00004-1-1"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
