"""Who may call a registry: only identities on its allow-list, proven by certificate."""

from __future__ import annotations

import grpc
import pytest

from ndx.population.v1 import population_service_pb2 as pb

from ..conftest import Running


async def test_allowed_identities_are_served(population: Running) -> None:
    for identity in ("ndx-admin", "gateway"):
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await population.stub(identity).GetCitizen(
                pb.GetCitizenRequest(citizen_id="001190012345")
            )
        assert e.value.code() is grpc.StatusCode.NOT_FOUND


async def test_client_without_certificate_is_refused(population: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await population.stub(None).GetCitizen(
            pb.GetCitizenRequest(citizen_id="001190012345"), timeout=5
        )
    assert e.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_agency_certificate_cannot_bypass_the_gateway(population: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await population.stub("tax-authority").GetCitizen(
            pb.GetCitizenRequest(citizen_id="001190012345"),
            metadata=[("x-ndx-identity", "service/gateway")],
        )
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "tax-authority" in (e.value.details() or "")
