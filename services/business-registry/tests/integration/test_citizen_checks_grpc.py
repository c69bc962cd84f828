"""Representatives and members named in writes are checked with the population registry (here
a fake of the same interface): unknown citizens and wrong names are refused naming the field, no
deceased citizen is newly appointed or admitted, an unreachable registry refuses the write, and
nothing is written either way."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import enterprise_pb2
from ndx_population.citizen_checks import KnownCitizens

from ..conftest import DECEASED, Running
from .support import CODE, Make, bad_fields, register_request

AN, BINH = "001085012345", "001190054321"
UNKNOWN = "001201999999"
Change = Callable[[enterprise_pb2.Enterprise], None]


def _rep(**values: object) -> Change:
    return lambda e: [setattr(e.legal_representatives[0], k, v) for k, v in values.items()]


def _member(**values: object) -> Change:
    return lambda e: [setattr(e.members[0], k, v) for k, v in values.items()]


def _both(**values: object) -> Change:
    return lambda e: (_rep(**values)(e), _member(**values)(e))


async def _nothing_written(business: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await business.stub().GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def test_registering_asks_once_about_representatives_and_members(
    business: Running, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    await business.stub().RegisterEnterprise(register_request(make_enterprise))
    (asked,) = citizens.asked
    assert [(c.field, c.citizen_id, c.name_field) for c in asked] == [
        ("legal_representatives[0]", AN, "full_name"),
        ("members[0]", AN, "name"),
    ]


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (
            _both(citizen_id=UNKNOWN),
            {
                "enterprise.legal_representatives[0].citizen_id",
                "enterprise.members[0].citizen_id",
            },
        ),
        (_rep(full_name="Nguyễn Văn Ân"), {"enterprise.legal_representatives[0].full_name"}),
        (_member(name="Nguyễn An"), {"enterprise.members[0].name"}),
        (
            lambda e: (
                _rep(citizen_id=DECEASED, full_name="Phạm Văn Cố")(e),
                _member(citizen_id=DECEASED, name="Phạm Văn Cố")(e),
            ),
            {
                "enterprise.legal_representatives[0].citizen_id",
                "enterprise.members[0].citizen_id",
            },
        ),
    ],
    ids=["unknown", "wrong-representative-name", "wrong-member-name", "deceased"],
)
async def test_a_citizen_the_population_registry_does_not_confirm_is_refused(
    business: Running, make_enterprise: Make, change: Change, fields: set[str]
) -> None:
    request = register_request(make_enterprise)
    change(request.enterprise)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await business.stub().RegisterEnterprise(request)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == fields
    await _nothing_written(business)


async def test_without_the_population_registry_nothing_is_registered(
    business: Running, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    citizens.reachable = False
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await business.stub().RegisterEnterprise(register_request(make_enterprise))
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "population registry" in (caught.value.details() or "")
    await _nothing_written(business)


def _reps(*people: tuple[str, str], version: int) -> pb.ChangeLegalRepresentativeRequest:
    return pb.ChangeLegalRepresentativeRequest(
        enterprise_code=CODE,
        legal_representatives=[
            enterprise_pb2.LegalRepresentative(citizen_id=i, full_name=n, title="Giám đốc")
            for i, n in people
        ],
        expected_version=version,
    )


async def test_a_new_representative_is_checked_and_one_on_file_stays(
    business: Running, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(register_request(make_enterprise))
    for people, field in [
        ([(UNKNOWN, "Lê Văn Mới")], "legal_representatives[0].citizen_id"),
        ([(AN, "Nguyễn Văn An"), (BINH, "Trần Bình")], "legal_representatives[1].full_name"),
        ([(DECEASED, "Phạm Văn Cố")], "legal_representatives[0].citizen_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ChangeLegalRepresentative(_reps(*people, version=1))
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(caught.value) == {field}

    # The representative on file died; the event has not reached the registry yet. Keeping
    # them while appointing a second representative is allowed.
    citizens.deceased.add(AN)
    changed = await stub.ChangeLegalRepresentative(
        _reps((AN, "Nguyễn Văn An"), (BINH, "Trần Thị Bình"), version=1)
    )
    assert [r.citizen_id for r in changed.legal_representatives] == [AN, BINH]

    citizens.reachable = False
    with pytest.raises(grpc.aio.AioRpcError) as unavailable:
        await stub.ChangeLegalRepresentative(_reps((BINH, "Trần Thị Bình"), version=2))
    assert unavailable.value.code() is grpc.StatusCode.UNAVAILABLE
    stored = await stub.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert stored.version == 2


async def test_members_of_an_update_are_checked_and_no_deceased_citizen_joins(
    business: Running, make_enterprise: Make, citizens: KnownCitizens
) -> None:
    stub = business.stub()
    await stub.RegisterEnterprise(register_request(make_enterprise))

    def members(
        citizen_id: str, name: str, capital: int = 5_000_000_000
    ) -> pb.UpdateEnterpriseRequest:
        changes = enterprise_pb2.Enterprise(enterprise_code=CODE, charter_capital_vnd=capital)
        changes.members.add(
            citizen_id=citizen_id,
            name=name,
            capital_contribution_vnd=capital,
            ownership_percent=100,
        )
        return pb.UpdateEnterpriseRequest(
            enterprise=changes,
            update_mask=FieldMask(paths=["members", "charter_capital_vnd"]),
            expected_version=1,
        )

    for citizen_id, name, field in [
        (UNKNOWN, "Lê Văn Mới", "enterprise.members[0].citizen_id"),
        (BINH, "Trần Bình", "enterprise.members[0].name"),
        (DECEASED, "Phạm Văn Cố", "enterprise.members[0].citizen_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UpdateEnterprise(members(citizen_id, name))
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(caught.value) == {field}

    # A member on file who died stays a member until their share passes on.
    citizens.deceased.add(AN)
    updated = await stub.UpdateEnterprise(members(AN, "Nguyễn Văn An", 6_000_000_000))
    assert (updated.version, updated.members[0].capital_contribution_vnd) == (2, 6_000_000_000)
    # An update that names no member asks nobody.
    asked = len(citizens.asked)
    name = pb.UpdateEnterpriseRequest(
        enterprise=enterprise_pb2.Enterprise(enterprise_code=CODE, short_name="HB"),
        update_mask=FieldMask(paths=["short_name"]),
        expected_version=2,
    )
    await stub.UpdateEnterprise(name)
    assert len(citizens.asked) == asked
