"""The population registry end to end: gRPC, outbox events on the real broker, both databases."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_runtime.envelope import header
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.kafka import read_topic

from ..conftest import Running


def new_citizen(
    citizen_id: str = "001190012345", name: str = "Nguyễn Thị Lan"
) -> citizen_pb2.Citizen:
    c = citizen_pb2.Citizen(
        citizen_id=citizen_id,
        full_name=name,
        gender=citizen_pb2.GENDER_FEMALE,
        ethnicity="Kinh",
        marital_status=citizen_pb2.MARITAL_STATUS_SINGLE,
    )
    c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day = 1990, 5, 2
    c.permanent_address.ward_code = "00004"
    c.permanent_address.street = "Số 12 phố Đội Cấn"
    return c


def bad_request_fields(error: grpc.aio.AioRpcError) -> set[str]:
    status = details_of(error)
    assert status is not None, "INVALID_ARGUMENT must carry google.rpc.Status details"
    fields = set()
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields |= {v.field for v in br.field_violations}
    return fields


async def test_write_emits_exactly_one_event(population: Running) -> None:
    stub = population.stub()
    created = await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
    assert created.version == 1
    assert created.permanent_address.province_code == "01"
    assert created.permanent_address.ward_name == "Phường Ba Đình"

    update = citizen_pb2.Citizen(citizen_id=created.citizen_id)
    update.permanent_address.ward_code = "26743"
    update.permanent_address.street = "12 Lê Lợi"
    updated = await stub.UpdateCitizen(
        pb.UpdateCitizenRequest(
            citizen=update, update_mask=FieldMask(paths=["permanent_address"]), expected_version=1
        )
    )
    assert updated.version == 2 and updated.permanent_address.province_code == "79"

    records = await read_topic(
        population.settings.kafka_bootstrap_servers, population.settings.citizen_topic, at_least=2
    )
    assert len(records) == 2
    assert all(r.key == created.citizen_id.encode() for r in records)
    create_ev, update_ev = (events_pb2.CitizenChanged.FromString(r.value) for r in records)
    assert create_ev.op == types_pb2.CHANGE_OP_CREATE and not create_ev.HasField("before")
    assert create_ev.after.full_name == "Nguyễn Thị Lan" and create_ev.version == 1
    assert update_ev.op == types_pb2.CHANGE_OP_UPDATE and update_ev.version == 2
    assert list(update_ev.changed_fields.paths) == ["permanent_address"]
    assert update_ev.before.permanent_address.ward_code == "00004"
    assert update_ev.after.permanent_address.ward_code == "26743"

    headers = list(records[1].headers)
    assert header(headers, "ce_type") == "ndx.population.v1.CitizenChanged"
    assert header(headers, "ce_specversion") == "1.0"
    assert header(headers, "ce_subject") == created.citizen_id
    assert header(headers, "ce_source") == "//ndx.gov.vn/population"
    assert header(headers, "content-type") == "application/protobuf"
    assert header(headers, "ce_id") and header(headers, "ce_time")
    assert header(records[0].headers, "ce_id") != header(headers, "ce_id")


async def test_stale_update_is_aborted_and_emits_nothing(population: Running) -> None:
    stub = population.stub()
    await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
    change = citizen_pb2.Citizen(citizen_id="001190012345", phone="0912345678")
    await stub.UpdateCitizen(
        pb.UpdateCitizenRequest(
            citizen=change, update_mask=FieldMask(paths=["phone"]), expected_version=1
        )
    )
    change.phone = "0987654321"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.UpdateCitizen(
            pb.UpdateCitizenRequest(
                citizen=change, update_mask=FieldMask(paths=["phone"]), expected_version=1
            )
        )
    assert e.value.code() is grpc.StatusCode.ABORTED
    records = await read_topic(
        population.settings.kafka_bootstrap_servers, population.settings.citizen_topic, at_least=2
    )
    assert [events_pb2.CitizenChanged.FromString(r.value).version for r in records] == [1, 2]
    stored = await stub.GetCitizen(pb.GetCitizenRequest(citizen_id="001190012345"))
    assert stored.phone == "0912345678" and stored.version == 2


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: setattr(c, "citizen_id", "00119001234"), "citizen_id"),
        (
            lambda c: setattr(c.date_of_birth, "day", 31) or setattr(c.date_of_birth, "month", 2),
            "date_of_birth",
        ),
        (
            lambda c: setattr(c.permanent_address, "ward_code", "99999"),
            "permanent_address.ward_code",
        ),
        (lambda c: setattr(c, "gender", citizen_pb2.GENDER_MALE), "gender"),
    ],
    ids=["malformed-id", "impossible-date", "unknown-ward", "gender-contradicts-id"],
)
async def test_invalid_input_names_the_field_and_writes_nothing(
    population: Running, mutate: object, field: str
) -> None:
    stub = population.stub()
    citizen = new_citizen()
    mutate(citizen)  # type: ignore[operator]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=citizen))
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(e.value)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetCitizen(pb.GetCitizenRequest(citizen_id="001190012345"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def test_oversize_batch_is_rejected(population: Running) -> None:
    ids = [f"001190{n:06d}" for n in range(1001)]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await population.stub().BatchGetCitizens(pb.BatchGetCitizensRequest(citizen_ids=ids))
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(e.value) == {"citizen_ids"}


async def test_reads_masks_batches_lists_and_verification(population: Running) -> None:
    stub = population.stub()
    await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
    await stub.RegisterCitizen(
        pb.RegisterCitizenRequest(citizen=new_citizen("001190000777", "Trần Thị Mai"))
    )
    masked = await stub.GetCitizen(
        pb.GetCitizenRequest(citizen_id="001190012345", read_mask=FieldMask(paths=["full_name"]))
    )
    assert masked.full_name == "Nguyễn Thị Lan" and not masked.citizen_id and not masked.version

    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.GetCitizen(
            pb.GetCitizenRequest(
                citizen_id="001190012345", read_mask=FieldMask(paths=["no_such_field"])
            )
        )
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(e.value) == {"read_mask"}

    batch = await stub.BatchGetCitizens(
        pb.BatchGetCitizensRequest(citizen_ids=["001190000777", "001190012345", "001190099999"])
    )
    assert [c.citizen_id for c in batch.citizens] == ["001190000777", "001190012345"]
    assert list(batch.missing_citizen_ids) == ["001190099999"]

    page1 = await stub.ListCitizens(pb.ListCitizensRequest(ward_code="00004", page_size=1))
    page2 = await stub.ListCitizens(
        pb.ListCitizensRequest(ward_code="00004", page_size=1, page_token=page1.next_page_token)
    )
    assert [c.citizen_id for c in [*page1.citizens, *page2.citizens]] == [
        "001190000777",
        "001190012345",
    ]
    assert page2.next_page_token == ""

    claims = citizen_pb2.Citizen(full_name="nguyễn thị lan")
    claims.date_of_birth.year, claims.date_of_birth.month, claims.date_of_birth.day = 1990, 5, 2
    verdict = await stub.VerifyCitizen(
        pb.VerifyCitizenRequest(
            citizen_id="001190012345",
            claims=claims,
            claim_mask=FieldMask(paths=["full_name", "date_of_birth"]),
        )
    )
    assert verdict.overall == types_pb2.VERIFY_RESULT_MATCH
    claims.full_name = "Nguyễn Thị Lâm"
    batch_verdict = await stub.BatchVerifyCitizens(
        pb.BatchVerifyCitizensRequest(
            requests=[
                pb.VerifyCitizenRequest(
                    citizen_id="001190012345",
                    claims=claims,
                    claim_mask=FieldMask(paths=["full_name"]),
                ),
                pb.VerifyCitizenRequest(
                    citizen_id="001190099999",
                    claims=claims,
                    claim_mask=FieldMask(paths=["full_name"]),
                ),
            ]
        )
    )
    assert [r.overall for r in batch_verdict.results] == [
        types_pb2.VERIFY_RESULT_MISMATCH,
        types_pb2.VERIFY_RESULT_UNKNOWN,
    ]


async def test_record_death(population: Running) -> None:
    stub = population.stub()
    await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=new_citizen()))
    request = pb.RecordDeathRequest(citizen_id="001190012345", expected_version=1)
    request.date_of_death.year, request.date_of_death.month, request.date_of_death.day = 2025, 1, 2
    dead = await stub.RecordDeath(request)
    assert dead.version == 2 and dead.date_of_death.year == 2025
    request.expected_version = 2
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.RecordDeath(request)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
