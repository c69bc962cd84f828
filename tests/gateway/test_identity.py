"""Who may use the gateway: the agency is the certificate, never a metadata value; purpose
and officer are required; registries refuse everyone but the gateway."""

from __future__ import annotations

import grpc
import pytest

from ndx_cli.stack.certs import issue, new_authority
from ndx_runtime.grpc_errors import bad_request_fields
from ndx_runtime.tls import Identity

from .conftest import Agency, System
from .support import GET_CITIZEN, citizen_ids, error_info


async def test_an_agency_reads_through_the_gateway(system: System) -> None:
    [cid] = await citizen_ids(system, 1)
    response, _ = await system.agency("tax-authority").call(
        GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration"
    )
    assert response.citizen_id == cid  # type: ignore[attr-defined]


async def test_no_client_certificate_is_refused(system: System) -> None:
    creds = grpc.ssl_channel_credentials(
        root_certificates=(system.exchange.pki / "ca.crt").read_bytes()
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{system.gateway.port}", creds) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await Agency("anonymous", channel).call(
                GET_CITIZEN, {"citizen_id": "001000000001"}, purpose="tax-registration"
            )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # the TLS handshake fails


async def test_a_certificate_of_another_authority_is_refused(system: System) -> None:
    foreign = new_authority("Somebody Else's CA")
    cert, key = issue(Identity("agency", "tax-authority"), foreign)
    creds = grpc.ssl_channel_credentials(
        root_certificates=(system.exchange.pki / "ca.crt").read_bytes(),
        private_key=key,
        certificate_chain=cert,
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{system.gateway.port}", creds) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await Agency("impostor", channel).call(
                GET_CITIZEN, {"citizen_id": "001000000001"}, purpose="tax-registration"
            )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("registry", "agency", "method", "body"),
    [
        ("population", "police", GET_CITIZEN, {"citizen_id": "001000000001"}),
        ("land", "land-office", "ndx.land.v1.LandService/GetParcel", {"parcel_id": "00004-1-1"}),
        (
            "business",
            "business-office",
            "ndx.business.v1.BusinessRegistryService/GetEnterprise",
            {"enterprise_code": "0100109106"},
        ),
    ],
)
async def test_an_agency_cannot_bypass_the_gateway(
    system: System, registry: str, agency: str, method: str, body: dict[str, str]
) -> None:
    port = getattr(system.exchange, registry).host.port
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await system.agency(agency, port=port).call(method, body, purpose="any")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "gateway" in (caught.value.details() or "")


async def test_a_spoofed_agency_header_changes_nothing(system: System) -> None:
    [cid] = await citizen_ids(system, 1)
    bank = system.agency("bank-ekyc")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await bank.call(
            GET_CITIZEN,
            {"citizen_id": cid},
            purpose="population-management",
            metadata=[("x-ndx-agency", "police"), ("x-ndx-identity", "agency/police")],
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info is not None and info.metadata["agency"] == "bank-ekyc"


@pytest.mark.parametrize(
    ("purpose", "officer", "missing"),
    [
        (None, "officer-1", {"x-ndx-purpose"}),
        ("tax-registration", None, {"x-ndx-officer"}),
        (None, None, {"x-ndx-purpose", "x-ndx-officer"}),
        ("tax registration!", "officer-1", {"x-ndx-purpose"}),
    ],
)
async def test_purpose_and_officer_are_required(
    system: System, purpose: str | None, officer: str | None, missing: set[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await system.agency("tax-authority").call(
            GET_CITIZEN, {"citizen_id": "001000000001"}, purpose=purpose, officer=officer
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == missing


async def test_an_unknown_purpose_is_denied_with_the_rule(system: System) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await system.agency("tax-authority").call(
            GET_CITIZEN, {"citizen_id": "001000000001"}, purpose="curiosity"
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info is not None and info.reason == "UNKNOWN_PURPOSE"
    assert info.metadata["rule"] == "agencies.tax-authority.purposes"


async def test_services_and_operators_are_not_agencies(system: System) -> None:
    for name in ("population", "ndx-admin"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await system.agency(name).call(
                GET_CITIZEN, {"citizen_id": "001000000001"}, purpose="population-management"
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "not an agency" in (caught.value.details() or "")


async def test_health_and_reflection_answer_on_the_gateway(system: System) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel = system.exchange.channel(system.gateway.port, "tax-authority")
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    services: set[str] = set()
    async for answer in stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    ):
        services |= {s.name for s in answer.list_services_response.service}
    assert {
        "ndx.population.v1.PopulationService",
        "ndx.land.v1.LandService",
        "ndx.business.v1.BusinessRegistryService",
        "ndx.gateway.v1.DataTrackerService",
    } <= services
