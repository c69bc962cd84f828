"""Whose data a call touches: every `subject`-annotated field of the real contracts, at any
depth and in lists, in order of first appearance and without repeats."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from ndx_gateway.subjects import collect

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.land.v1 import parcel_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as ppb


def subjects(message: Message) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    collect(message, found)
    return list(found)


REQUESTS: list[tuple[Message, list[tuple[str, str]]]] = [
    (ppb.GetCitizenRequest(citizen_id="001"), [("citizen", "001")]),
    (
        ppb.BatchGetCitizensRequest(citizen_ids=["001", "002", "", "001"]),
        [("citizen", "001"), ("citizen", "002")],
    ),
    (lpb.GetParcelRequest(parcel_id="P-1"), [("parcel", "P-1")]),
    (
        lpb.VerifyLandRightRequest(parcel_id="P-1", citizen_id="001"),
        [("parcel", "P-1"), ("citizen", "001")],
    ),
    (bpb.GetEnterpriseRequest(enterprise_code="0101"), [("enterprise", "0101")]),
    (
        bpb.VerifyEnterpriseRequest(
            enterprise_code="0101", claimed_representative_citizen_id="001"
        ),
        [("enterprise", "0101"), ("citizen", "001")],
    ),
    (
        lpb.ListParcelsRequest(holder_citizen_id="001"),
        [("citizen", "001")],
    ),
]


@pytest.mark.parametrize(
    ("message", "expected"), REQUESTS, ids=[type(m).__name__ for m, _ in REQUESTS]
)
def test_subjects_of_requests(message: Message, expected: list[tuple[str, str]]) -> None:
    assert subjects(message) == expected


def test_empty_fields_are_not_subjects() -> None:
    assert subjects(ppb.GetCitizenRequest()) == []
    assert subjects(ppb.BatchGetCitizensResponse()) == []
    assert subjects(citizen_pb2.Citizen(full_name="Nguyễn Văn A")) == []


def test_relatives_of_every_citizen_in_a_batch_response() -> None:
    response = ppb.BatchGetCitizensResponse(
        citizens=[
            citizen_pb2.Citizen(citizen_id="001", father_id="010", mother_id="011"),
            citizen_pb2.Citizen(citizen_id="002", spouse_id="001"),
        ],
        # Not annotated: a citizen that was not found is not data about anyone.
        missing_citizen_ids=["003"],
    )
    assert subjects(response) == [
        ("citizen", "001"),
        ("citizen", "010"),
        ("citizen", "011"),
        ("citizen", "002"),
    ]


def test_holders_and_mortgagees_inside_parcels() -> None:
    response = lpb.BatchGetParcelsResponse(
        parcels=[
            parcel_pb2.Parcel(
                parcel_id="P-1",
                holders=[
                    parcel_pb2.RightsHolder(citizen_id="001"),
                    parcel_pb2.RightsHolder(citizen_id="002"),
                ],
                mortgages=[parcel_pb2.Mortgage(holder_enterprise_code="0101")],
            ),
            parcel_pb2.Parcel(parcel_id="P-2", holders=[parcel_pb2.RightsHolder(citizen_id="001")]),
        ]
    )
    assert subjects(response) == [
        ("parcel", "P-1"),
        ("citizen", "001"),
        ("citizen", "002"),
        ("enterprise", "0101"),
        ("parcel", "P-2"),
    ]


def test_members_and_representatives_inside_an_enterprise() -> None:
    enterprise = enterprise_pb2.Enterprise(
        enterprise_code="0101",
        legal_representatives=[enterprise_pb2.LegalRepresentative(citizen_id="001")],
        members=[
            enterprise_pb2.Member(citizen_id="002"),
            enterprise_pb2.Member(enterprise_code="0202"),
        ],
        branches=[enterprise_pb2.Branch(branch_code="0101-001")],
    )
    response = bpb.BatchGetEnterprisesResponse(enterprises=[enterprise])
    assert subjects(response) == [
        ("enterprise", "0101"),
        ("citizen", "001"),
        ("citizen", "002"),
        ("enterprise", "0202"),
    ]


def test_every_request_of_a_batch_verification_and_its_claims() -> None:
    request = ppb.BatchVerifyCitizensRequest(
        requests=[
            ppb.VerifyCitizenRequest(
                citizen_id="001",
                claims=citizen_pb2.Citizen(full_name="A", father_id="010"),
            ),
            ppb.VerifyCitizenRequest(citizen_id="002"),
        ]
    )
    assert subjects(request) == [("citizen", "001"), ("citizen", "010"), ("citizen", "002")]


def test_writes_name_the_subjects_they_change() -> None:
    transfer = lpb.TransferRightsRequest(
        parcel_id="P-1", holders=[parcel_pb2.RightsHolder(citizen_id="001")]
    )
    assert subjects(transfer) == [("parcel", "P-1"), ("citizen", "001")]
    update = ppb.UpdateCitizenRequest(citizen=citizen_pb2.Citizen(citizen_id="001"))
    assert subjects(update) == [("citizen", "001")]


def test_request_and_response_share_one_list() -> None:
    found: dict[tuple[str, str], None] = {}
    collect(ppb.GetCitizenRequest(citizen_id="001"), found)
    collect(citizen_pb2.Citizen(citizen_id="001", spouse_id="002"), found)
    assert list(found) == [("citizen", "001"), ("citizen", "002")]
