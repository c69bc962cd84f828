"""Holders named in writes are checked with the population registry (here a fake of the same
interface): unknown citizens, wrong names and deceased acquirers are refused naming the field,
an unreachable registry refuses the write, and nothing is written either way."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from ndx.land.v1 import land_service_pb2 as pb
from ndx.land.v1 import parcel_pb2
from ndx_population.citizen_checks import KnownCitizens

from ..conftest import AN, BINH, DECEASED, MakeParcel, Running
from .test_registry_grpc import bad_fields, register_request

UNKNOWN = "001201999999"
Change = Callable[[parcel_pb2.Parcel], None]


def _holder(index: int, **values: object) -> Change:
    def change(p: parcel_pb2.Parcel) -> None:
        for name, value in values.items():
            setattr(p.holders[index], name, value)

    return change


async def _nothing_written(land: Running, parcel_id: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await land.stub().GetParcel(pb.GetParcelRequest(parcel_id=parcel_id))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_registering_asks_once_about_every_holder(
    land: Running, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    await land.stub().RegisterParcel(register_request(make_parcel))
    (asked,) = citizens.asked
    assert [(c.field, c.citizen_id, c.full_name) for c in asked] == [
        ("holders[0]", AN.citizen_id, AN.full_name),
        ("holders[1]", BINH.citizen_id, BINH.full_name),
    ]


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (_holder(1, citizen_id=UNKNOWN), {"parcel.holders[1].citizen_id"}),
        (_holder(0, full_name="Nguyễn Văn Ân"), {"parcel.holders[0].full_name"}),
        (
            _holder(1, citizen_id=DECEASED, full_name="Phạm Văn Cố"),
            {"parcel.holders[1].citizen_id"},
        ),
        (
            lambda p: (_holder(0, citizen_id=UNKNOWN)(p), _holder(1, full_name="Bình")(p)),
            {"parcel.holders[0].citizen_id", "parcel.holders[1].full_name"},
        ),
    ],
    ids=["unknown", "wrong-name", "deceased", "both"],
)
async def test_a_holder_the_population_registry_does_not_confirm_is_refused(
    land: Running, make_parcel: MakeParcel, change: Change, fields: set[str]
) -> None:
    request = register_request(make_parcel)
    change(request.parcel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land.stub().RegisterParcel(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == fields
    await _nothing_written(land, make_parcel().parcel_id)


async def test_an_invalid_parcel_is_refused_before_anyone_is_asked(
    land: Running, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    request = register_request(make_parcel)
    request.parcel.area_m2 = -1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land.stub().RegisterParcel(request)
    assert "parcel.area_m2" in bad_fields(caught.value)
    assert citizens.asked == []


async def test_without_the_population_registry_nothing_is_registered(
    land: Running, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    citizens.reachable = False
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land.stub().RegisterParcel(register_request(make_parcel))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "population registry" in (caught.value.details() or "")
    await _nothing_written(land, make_parcel().parcel_id)


async def test_a_transfer_checks_the_new_holders(
    land: Running, make_parcel: MakeParcel, citizens: KnownCitizens
) -> None:
    stub = land.stub()
    created = await stub.RegisterParcel(register_request(make_parcel))

    def transfer(citizen_id: str, name: str) -> pb.TransferRightsRequest:
        buyer = parcel_pb2.RightsHolder(
            citizen_id=citizen_id,
            full_name=name,
            role=parcel_pb2.HOLDER_ROLE_INDIVIDUAL,
            share_percent=100,
        )
        return pb.TransferRightsRequest(
            parcel_id=created.parcel_id,
            holders=[buyer],
            origin=parcel_pb2.LAND_ORIGIN_TRANSFERRED,
            expected_version=1,
        )

    for citizen_id, name, field in [
        (UNKNOWN, "Lê Văn Mua", "holders[0].citizen_id"),
        ("001201000001", "Lê Văn Bán", "holders[0].full_name"),
        (DECEASED, "Phạm Văn Cố", "holders[0].citizen_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.TransferRights(transfer(citizen_id, name))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(caught.value) == {field}

    citizens.reachable = False
    with pytest.raises(grpc.aio.AioRpcError) as unavailable:
        await stub.TransferRights(transfer("001201000001", "Lê Văn Mua"))
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
    stored = await stub.GetParcel(pb.GetParcelRequest(parcel_id=created.parcel_id))
    assert (stored.version, [h.citizen_id for h in stored.holders]) == (
        1,
        [AN.citizen_id, BINH.citizen_id],
    )

    citizens.reachable = True
    sold = await stub.TransferRights(transfer("001201000001", "Lê Văn Mua"))
    assert [h.citizen_id for h in sold.holders] == ["001201000001"]
