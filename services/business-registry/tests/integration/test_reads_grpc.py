"""Reads over mTLS gRPC: batch lookups, keyset pages per filter, verification that reveals
nothing, and request ids checked before anything is read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import enterprise_pb2
from ndx.common.v1 import types_pb2

from ..conftest import Running
from .support import CODE, OTHER_CODES, UNKNOWN_CODE, Make, Stub, bad_fields, register

ALL = sorted([CODE, *OTHER_CODES])
AN = "001085012345"
MATCH, MISMATCH, UNKNOWN = (
    types_pb2.VERIFY_RESULT_MATCH,
    types_pb2.VERIFY_RESULT_MISMATCH,
    types_pb2.VERIFY_RESULT_UNKNOWN,
)


async def test_batch_get_returns_found_in_request_order_and_names_missing(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await register(stub, make_enterprise, [CODE, OTHER_CODES[0]])
    batch = await stub.BatchGetEnterprises(
        pb.BatchGetEnterprisesRequest(
            enterprise_codes=[OTHER_CODES[0], UNKNOWN_CODE, CODE, OTHER_CODES[0]],
            read_mask=FieldMask(paths=["enterprise_code", "name"]),
        )
    )
    assert [e.enterprise_code for e in batch.enterprises] == [OTHER_CODES[0], CODE]
    assert list(batch.missing_enterprise_codes) == [UNKNOWN_CODE]
    assert {f.name for f, _ in batch.enterprises[0].ListFields()} == {"enterprise_code", "name"}

    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await stub.BatchGetEnterprises(
            pb.BatchGetEnterprisesRequest(enterprise_codes=[CODE] * 1001)
        )
    assert bad_fields(too_many.value) == {"enterprise_codes"}


async def _all_pages(stub: Stub, size: int, **filter_: object) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    while True:
        page = await stub.ListEnterprises(
            pb.ListEnterprisesRequest(
                page_size=size,
                page_token=token,
                read_mask=FieldMask(paths=["enterprise_code"]),
                **filter_,  # type: ignore[arg-type]
            )
        )
        assert all(e.name == "" for e in page.enterprises)  # read mask applied
        pages.append([e.enterprise_code for e in page.enterprises])
        token = page.next_page_token
        if not token:
            return pages


async def test_list_pages_through_each_filter(business: Running, make_enterprise: Make) -> None:
    stub = business.stub()
    await register(stub, make_enterprise, ALL)
    ward = make_enterprise().head_office.ward_code

    assert await _all_pages(stub, 3, representative_citizen_id=AN) == [ALL[:3], ALL[3:]]
    assert await _all_pages(stub, 2, ward_code=ward) == [ALL[:2], ALL[2:]]
    assert await _all_pages(stub, 4, legal_status=enterprise_pb2.LEGAL_STATUS_OPERATING) == [ALL]

    await stub.ChangeLegalStatus(
        pb.ChangeLegalStatusRequest(
            enterprise_code=ALL[1],
            legal_status=enterprise_pb2.LEGAL_STATUS_SUSPENDED,
            expected_version=1,
        )
    )
    suspended = await _all_pages(stub, 1, legal_status=enterprise_pb2.LEGAL_STATUS_SUSPENDED)
    assert suspended == [[ALL[1]]]
    operating = await _all_pages(stub, 10, legal_status=enterprise_pb2.LEGAL_STATUS_OPERATING)
    assert operating == [[c for c in ALL if c != ALL[1]]]
    assert await _all_pages(stub, 10, representative_citizen_id="001090054321") == [[]]
    assert await _all_pages(stub, 10, ward_code="00004" if ward != "00004" else "00007") == [[]]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListEnterprisesRequest(), "filter"),
        (pb.ListEnterprisesRequest(ward_code="00004", legal_status=1), "filter"),
        (pb.ListEnterprisesRequest(representative_citizen_id="12345"), "representative_citizen_id"),
        (pb.ListEnterprisesRequest(ward_code="4"), "ward_code"),
        (pb.ListEnterprisesRequest(legal_status=42), "legal_status"),
        (pb.ListEnterprisesRequest(ward_code="00004", page_size=1001), "page_size"),
        (pb.ListEnterprisesRequest(ward_code="00004", page_token="x"), "page_token"),
        (
            pb.ListEnterprisesRequest(ward_code="00004", read_mask=FieldMask(paths=["nope"])),
            "read_mask",
        ),
    ],
)
async def test_list_refuses_bad_requests(
    business: Running, request_: pb.ListEnterprisesRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await business.stub().ListEnterprises(request_)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_fields(e.value)


async def test_a_token_is_bound_to_its_filter(business: Running, make_enterprise: Make) -> None:
    stub = business.stub()
    await register(stub, make_enterprise, ALL)
    first = await stub.ListEnterprises(
        pb.ListEnterprisesRequest(representative_citizen_id=AN, page_size=1)
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.ListEnterprises(
            pb.ListEnterprisesRequest(ward_code="00004", page_token=first.next_page_token)
        )
    assert bad_fields(e.value) == {"page_token"}


async def test_verify_answers_claims_and_reveals_nothing_else(
    business: Running, make_enterprise: Make
) -> None:
    stub = business.stub()
    await register(stub, make_enterprise, [CODE])
    claims = {
        "claim_exists": True,
        "claimed_legal_status": enterprise_pb2.LEGAL_STATUS_DISSOLVED,
        "claimed_representative_citizen_id": AN,
    }
    known = await stub.VerifyEnterprise(pb.VerifyEnterpriseRequest(enterprise_code=CODE, **claims))
    assert [(r.field, r.result) for r in known.results] == [
        ("exists", MATCH),
        ("legal_status", MISMATCH),
        ("legal_representatives", MATCH),
    ]
    assert {f.name for f, _ in known.ListFields()} == {"enterprise_code", "results"}

    other = await stub.VerifyEnterprise(
        pb.VerifyEnterpriseRequest(
            enterprise_code=CODE,
            claimed_legal_status=enterprise_pb2.LEGAL_STATUS_OPERATING,
            claimed_representative_citizen_id="001090054321",
        )
    )
    assert [r.result for r in other.results] == [MATCH, MISMATCH]

    unknown = await stub.VerifyEnterprise(
        pb.VerifyEnterpriseRequest(enterprise_code=UNKNOWN_CODE, **claims)
    )
    assert [(r.field, r.result) for r in unknown.results] == [
        ("exists", MISMATCH),
        ("legal_status", UNKNOWN),
        ("legal_representatives", UNKNOWN),
    ]

    with pytest.raises(grpc.aio.AioRpcError) as no_claim:
        await stub.VerifyEnterprise(pb.VerifyEnterpriseRequest(enterprise_code=CODE))
    assert no_claim.value.code() is grpc.StatusCode.INVALID_ARGUMENT


BAD = "0100233489"  # check digit wrong
Call = Callable[[Stub], Awaitable[object]]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda s: s.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=BAD)),
            "enterprise_code",
        ),
        (
            lambda s: s.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code="01002334")),
            "enterprise_code",
        ),
        (
            lambda s: s.BatchGetEnterprises(
                pb.BatchGetEnterprisesRequest(enterprise_codes=[CODE, BAD])
            ),
            "enterprise_codes[1]",
        ),
        (
            lambda s: s.VerifyEnterprise(
                pb.VerifyEnterpriseRequest(enterprise_code=BAD, claim_exists=True)
            ),
            "enterprise_code",
        ),
        (
            lambda s: s.VerifyEnterprise(
                pb.VerifyEnterpriseRequest(
                    enterprise_code=CODE, claimed_representative_citizen_id="0010850123"
                )
            ),
            "claimed_representative_citizen_id",
        ),
        (
            lambda s: s.ChangeLegalStatus(
                pb.ChangeLegalStatusRequest(enterprise_code=BAD, legal_status=2, expected_version=1)
            ),
            "enterprise_code",
        ),
        (
            lambda s: s.ChangeLegalRepresentative(
                pb.ChangeLegalRepresentativeRequest(
                    enterprise_code=CODE,
                    legal_representatives=[
                        enterprise_pb2.LegalRepresentative(citizen_id="12", full_name="An")
                    ],
                    expected_version=1,
                )
            ),
            "legal_representatives[0].citizen_id",
        ),
        (
            lambda s: s.UpdateEnterprise(
                pb.UpdateEnterpriseRequest(
                    enterprise=enterprise_pb2.Enterprise(enterprise_code=BAD, name="X"),
                    update_mask=FieldMask(paths=["name"]),
                    expected_version=1,
                )
            ),
            "enterprise.enterprise_code",
        ),
    ],
)
async def test_request_ids_are_checked_before_any_read(
    business: Running, make_enterprise: Make, call: Call, field: str
) -> None:
    stub = business.stub()
    await register(stub, make_enterprise, [CODE])
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(stub)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_fields(e.value)
    stored = await stub.GetEnterprise(pb.GetEnterpriseRequest(enterprise_code=CODE))
    assert stored.version == 1
