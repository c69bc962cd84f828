"""Registering a parcel or an enterprise verifies the citizens it names through the gateway, as
the registry's own agency, so the check is audited like any agency's question; a citizen the
population registry does not confirm refuses the write, and so does an unreachable gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Connection, select
from stdnum.vn import mst

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import business_service_pb2_grpc
from ndx.gateway.v1 import audit_pb2
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.land.v1 import land_service_pb2_grpc
from ndx_business.adapters.proto_mapping import enterprise_to_proto
from ndx_business.adapters.tables import enterprises
from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import BusinessLine, EnterpriseType, Member, Representative
from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_land.adapters.proto_mapping import parcel_to_proto
from ndx_land.domain.model import Parcel, parcel_id
from ndx_land.domain.values import Address, FormOfUse, HolderRole, LandOrigin, LandUse, RightsHolder
from ndx_population.adapters.tables import citizens
from ndx_refdata import gazetteer
from ndx_runtime.grpc_errors import bad_request_fields
from ndx_runtime.kafka import read_topic

BATCH_VERIFY = "ndx.population.v1.PopulationService/BatchVerifyCitizens"
REGISTER_PARCEL = "ndx.land.v1.LandService/RegisterParcel"
REGISTER_ENTERPRISE = "ndx.business.v1.BusinessRegistryService/RegisterEnterprise"
WARD = gazetteer().provinces[0].wards[0]
Person = tuple[str, str]


async def start(data: Path, kafka: str, pki: Path, sizes: Sizes) -> Exchange:
    """The exchange with its gateway, through which land and business verify citizens."""
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    return await start_exchange(data, kafka, pki, prefix, sizes=sizes, gateway=True)


@pytest.fixture(scope="module")
async def exchange(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, pki: Path
) -> AsyncIterator[Exchange]:
    data = tmp_path_factory.mktemp("exchange")
    running = await start(
        data, kafka_bootstrap, pki, Sizes(citizens=1_000, enterprises=50, parcels=50)
    )
    try:
        yield running
    finally:
        await running.stop()


async def people(exchange: Exchange, n: int, *, skip: int = 0, dead: bool = False) -> list[Person]:
    """`n` adult citizens of the population registry (or deceased ones) after the first
    `skip`, with their names; each test takes its own, so the audit records are its own."""

    def query(conn: Connection) -> list[Person]:
        died = citizens.c.date_of_death
        rows = conn.execute(
            select(citizens.c.citizen_id, citizens.c.full_name)
            .where(died.is_not(None) if dead else died.is_(None))
            .where(citizens.c.date_of_birth <= date(2000, 1, 1))
            .order_by(citizens.c.citizen_id)
            .offset(skip)
            .limit(n)
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    found = await exchange.population.db.read(query)
    assert len(found) == n, "the seed has too few citizens of that kind"
    return found


_sheets: Iterator[int] = iter(range(9000, 9999))


def parcel_request(*holders: Person) -> lpb.RegisterParcelRequest:
    """A new parcel (on a map sheet the seed never uses) held in equal shares."""
    sheet = next(_sheets)
    share = 10_000 // len(holders)
    parcel = Parcel(
        parcel_id=parcel_id(WARD.code, sheet, 1),
        map_sheet_number=sheet,
        parcel_number=1,
        address=Address("", WARD.code, "Thửa 1"),
        area_tenths=1_000,
        land_uses=(LandUse("ODT", 1_000),),
        form_of_use=FormOfUse.SHARED if len(holders) > 1 else FormOfUse.PRIVATE,
        long_term=True,
        term_end_date=None,
        origin=LandOrigin.TRANSFERRED,
        certificate=None,
        holders=tuple(RightsHolder(i, name, HolderRole.INDIVIDUAL, share) for i, name in holders),
    )
    proto = parcel_to_proto(parcel)
    proto.ClearField("version")
    proto.ClearField("update_time")
    return lpb.RegisterParcelRequest(parcel=proto)


async def enterprise_request(exchange: Exchange, owner: Person) -> bpb.RegisterEnterpriseRequest:
    """A new single-member LLC, its owner its legal representative, under an unused tax code."""

    def codes(conn: Connection) -> set[str]:
        return {str(c) for c in conn.execute(select(enterprises.c.enterprise_code)).scalars()}

    taken = await exchange.business.db.read(codes)
    bodies = (f"031{n:06d}" for n in range(1, 10**6))
    code = next(c for c in (b + mst.calc_check_digit(b) for b in bodies) if c not in taken)
    citizen_id, name = owner
    enterprise = Enterprise(
        enterprise_code=code,
        name=f"Công ty TNHH Kiểm Thử {code}",
        type=EnterpriseType.SINGLE_MEMBER_LLC,
        head_office=Address("", WARD.code, "12 Lê Lợi"),
        legal_representatives=(Representative(citizen_id, name, "Giám đốc"),),
        founding_date=date(2020, 1, 2),
        charter_capital_vnd=1_000_000_000,
        members=(Member(name, 1_000_000_000, 10_000, citizen_id=citizen_id),),
        business_lines=(BusinessLine("4690", main=True),),
    )
    return bpb.RegisterEnterpriseRequest(enterprise=enterprise_to_proto(enterprise))


def land_office(exchange: Exchange) -> land_service_pb2_grpc.LandServiceStub:
    assert exchange.gateway is not None
    return land_service_pb2_grpc.LandServiceStub(
        exchange.channel(exchange.gateway.port, "land-office")
    )


def business_office(exchange: Exchange) -> business_service_pb2_grpc.BusinessRegistryServiceStub:
    assert exchange.gateway is not None
    return business_service_pb2_grpc.BusinessRegistryServiceStub(
        exchange.channel(exchange.gateway.port, "business-office")
    )


LAND = [("x-ndx-purpose", "land-registration"), ("x-ndx-officer", "officer-042")]
BUSINESS = [("x-ndx-purpose", "business-registration"), ("x-ndx-officer", "officer-042")]


async def audit(exchange: Exchange) -> list[audit_pb2.AuditRecord]:
    assert exchange.gateway is not None
    records = await read_topic(
        exchange.population.settings.kafka_bootstrap_servers,
        exchange.gateway.settings.audit_topic,
        at_least=1,
    )
    return [audit_pb2.AuditRecord.FromString(r.value) for r in records if r.value]


def verifications_of(
    records: list[audit_pb2.AuditRecord], citizen_id: str
) -> list[audit_pb2.AuditRecord]:
    return [
        r
        for r in records
        if r.method == BATCH_VERIFY
        and ("citizen", citizen_id) in {(s.kind, s.id) for s in r.subjects}
    ]


async def test_a_parcel_is_registered_once_its_holders_are_verified_through_the_gateway(
    exchange: Exchange,
) -> None:
    (an, an_name), (binh, binh_name) = await people(exchange, 2, skip=0)
    stub = land_office(exchange)

    created = await stub.RegisterParcel(
        parcel_request((an, an_name), (binh, binh_name)), metadata=LAND
    )
    assert [h.citizen_id for h in created.holders] == [an, binh]

    [check] = verifications_of(await audit(exchange), an)
    assert (check.agency, check.purpose, check.officer) == (
        "land-office",
        "land-registration",
        "registry:land",
    )
    assert check.decision == audit_pb2.DECISION_ALLOW and check.status == "OK"
    assert {("citizen", an), ("citizen", binh)} <= {(s.kind, s.id) for s in check.subjects}


async def test_a_holder_under_another_name_is_refused_and_nothing_is_written(
    exchange: Exchange,
) -> None:
    (an, an_name), (binh, binh_name) = await people(exchange, 2, skip=2)
    request = parcel_request((an, an_name), (binh, binh_name + " Thị"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land_office(exchange).RegisterParcel(request, metadata=LAND)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == {"parcel.holders[1].full_name"}
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await exchange.land_stub().GetParcel(
            lpb.GetParcelRequest(parcel_id=request.parcel.parcel_id)
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    records = await audit(exchange)
    refused = [r for r in records if r.method == REGISTER_PARCEL and r.status == "INVALID_ARGUMENT"]
    assert [r.agency for r in refused] == ["land-office"]


async def test_a_deceased_citizen_acquires_no_right_and_an_unknown_one_is_named(
    exchange: Exchange,
) -> None:
    [dead] = await people(exchange, 1, dead=True)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await land_office(exchange).RegisterParcel(parcel_request(dead), metadata=LAND)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == {"parcel.holders[0].citizen_id"}
    assert "deceased" in (caught.value.details() or "")

    # An identity number nobody holds (valid in form): directly on the registry, as operator.
    [alive] = await people(exchange, 1, skip=4)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await exchange.land_stub().RegisterParcel(parcel_request(alive, ("001201999999", "Ai Đó")))
    assert bad_request_fields(unknown.value) == {"parcel.holders[1].citizen_id"}


async def test_an_enterprise_is_registered_once_its_people_are_verified_through_the_gateway(
    exchange: Exchange,
) -> None:
    [owner] = await people(exchange, 1, skip=5)
    stub = business_office(exchange)
    wrong = await enterprise_request(exchange, (owner[0], owner[1] + " Văn"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterEnterprise(wrong, metadata=BUSINESS)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == {
        "enterprise.legal_representatives[0].full_name",
        "enterprise.members[0].name",
    }
    code = wrong.enterprise.enterprise_code
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await exchange.business_stub().GetEnterprise(bpb.GetEnterpriseRequest(enterprise_code=code))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    created = await stub.RegisterEnterprise(
        await enterprise_request(exchange, owner), metadata=BUSINESS
    )
    assert created.legal_representatives[0].citizen_id == owner[0]
    checks = verifications_of(await audit(exchange), owner[0])
    assert [(r.agency, r.purpose, r.officer, r.status) for r in checks] == [
        ("business-office", "business-registration", "registry:business", "OK")
    ] * 2
    registered = [
        r for r in await audit(exchange) if r.method == REGISTER_ENTERPRISE and r.status == "OK"
    ]
    assert [r.agency for r in registered] == ["business-office"]


async def test_without_the_gateway_nothing_is_registered(
    tmp_path: Path, kafka_bootstrap: str, pki: Path
) -> None:
    running = await start(
        tmp_path, kafka_bootstrap, pki, Sizes(citizens=300, enterprises=10, parcels=10)
    )
    try:
        assert running.gateway is not None
        await running.gateway.stop()
        running.gateway = None
        [holder] = await people(running, 1)
        request = parcel_request(holder)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await running.land_stub().RegisterParcel(request, timeout=20)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "gateway" in (caught.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await running.land_stub().GetParcel(
                lpb.GetParcelRequest(parcel_id=request.parcel.parcel_id)
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await running.stop()
