"""The read and claim masks of a request, found at any depth of the real contracts."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from ndx_gateway.masks import Masks, masks_of

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as ppb


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=paths)


def test_a_request_without_masks() -> None:
    assert masks_of(ppb.GetCitizenRequest(citizen_id="001")) == Masks()
    assert masks_of(ppb.BatchVerifyCitizensRequest()) == Masks()
    assert masks_of(ppb.RecordDeathRequest(citizen_id="001")) == Masks()


def test_read_masks_of_get_and_batch_get() -> None:
    get = ppb.GetCitizenRequest(citizen_id="001", read_mask=mask("full_name", "date_of_birth"))
    assert masks_of(get) == Masks(read={"full_name", "date_of_birth"})
    batch = lpb.BatchGetParcelsRequest(parcel_ids=["P-1"], read_mask=mask("holders.full_name"))
    assert masks_of(batch) == Masks(read={"holders.full_name"})
    enterprises = bpb.BatchGetEnterprisesRequest(read_mask=mask("name", "legal_status"))
    assert masks_of(enterprises) == Masks(read={"name", "legal_status"})
    listing = bpb.ListEnterprisesRequest(read_mask=mask("head_office"))
    assert masks_of(listing) == Masks(read={"head_office"})


def test_claim_mask_of_a_verification() -> None:
    request = ppb.VerifyCitizenRequest(
        citizen_id="001",
        claims=citizen_pb2.Citizen(full_name="A"),
        claim_mask=mask("full_name"),
    )
    assert masks_of(request) == Masks(claim={"full_name"})


def test_claim_masks_inside_every_request_of_a_batch() -> None:
    request = ppb.BatchVerifyCitizensRequest(
        requests=[
            ppb.VerifyCitizenRequest(citizen_id="001", claim_mask=mask("full_name")),
            ppb.VerifyCitizenRequest(citizen_id="002"),
            ppb.VerifyCitizenRequest(
                citizen_id="003", claim_mask=mask("date_of_birth", "full_name")
            ),
        ]
    )
    assert masks_of(request) == Masks(claim={"full_name", "date_of_birth"})


def test_an_update_mask_is_neither_read_nor_claim() -> None:
    request = ppb.UpdateCitizenRequest(
        citizen=citizen_pb2.Citizen(citizen_id="001"), update_mask=mask("full_name")
    )
    assert masks_of(request) == Masks()
