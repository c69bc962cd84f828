"""Certificates the gateway must refuse, over real TLS with real certificates: expired, not
yet valid, signed by another CA, naming no NDX identity, naming an agency the policy does not
know, and revoked by the CRL (`GATEWAY_TLS_CRL_FILE`). What metadata claims never changes who
is audited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from ndx_gateway.bootstrap import RunningGateway
from ndx_gateway.bootstrap import start as start_gateway

from ndx.gateway.v1 import audit_pb2
from ndx_cli.stack.certs import DevPki, issue, new_authority, revocation_list
from ndx_runtime.kafka import read_topic
from ndx_runtime.revocation import Revocations
from ndx_runtime.tls import Identity

from ..faults import figures
from .conftest import Agency, System
from .support import GET_CITIZEN, VERIFY_CITIZEN, citizen_ids, error_info

TAX = Identity("agency", "tax-authority")


def _agency(port: int, pki: DevPki, cert_pem: bytes, key_pem: bytes, name: str) -> Agency:
    creds = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_file.read_bytes(), private_key=key_pem, certificate_chain=cert_pem
    )
    # A private subchannel pool: each certificate gets its own connection and handshake.
    channel = grpc.aio.secure_channel(
        f"127.0.0.1:{port}", creds, options=[("grpc.use_local_subchannel_pool", 1)]
    )
    return Agency(name, channel)


def _traced() -> tuple[str, list[tuple[str, str]]]:
    """A new trace id and the metadata that makes a call part of it: the audit record of
    a call carries its trace id, even one refused before the officer is read."""
    trace = uuid.uuid4().hex
    return trace, [("traceparent", f"00-{trace}-{uuid.uuid4().hex[:16]}-01")]


async def _refused(
    agency: Agency, metadata: list[tuple[str, str]] | None = None
) -> grpc.aio.AioRpcError:
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await agency.call(
                GET_CITIZEN,
                {"citizen_id": "001000000001"},
                purpose="tax-registration",
                metadata=metadata or [],
            )
    finally:
        await agency.channel.close(grace=None)
    return caught.value


async def _audited(system: System, trace: str) -> audit_pb2.AuditRecord:
    """The audit record of the one call made in trace `trace`."""
    records = await read_topic(
        system.exchange.population.settings.kafka_bootstrap_servers,
        system.gateway.settings.audit_topic,
        at_least=1,
    )
    found = [
        record
        for r in records
        if r.value and (record := audit_pb2.AuditRecord.FromString(r.value)).trace_id == trace
    ]
    assert len(found) == 1, f"{len(found)} audit records in trace {trace}"
    return found[0]


@pytest.fixture(scope="module")
def dev_pki(system: System) -> DevPki:
    return DevPki(system.exchange.pki)


@pytest.fixture(scope="module")
def refused() -> Iterator[dict[str, str]]:
    """The cases refused in this module, recorded for the reliability report."""
    with figures.cases(
        "certificates",
        broken="client certificates that must not get in, over real TLS",
        checked=(
            "each is refused with the status named, a refusal past the handshake is audited "
            "under the certificate's identity, and metadata never changes that identity"
        ),
    ) as seen:
        yield seen


# Certificates the TLS handshake itself refuses: the same identity, a bad validity or issuer.
UNTRUSTED: dict[str, Callable[[DevPki], tuple[bytes, bytes]]] = {
    "expired": lambda pki: pki.issue(TAX, not_after=datetime.now(UTC) - timedelta(minutes=1)),
    "not yet valid": lambda pki: pki.issue(TAX, not_before=datetime.now(UTC) + timedelta(hours=1)),
    # The same name, from an authority the gateway does not trust.
    "signed by another CA": lambda _: issue(TAX, new_authority("NDX Dev CA")),
}


@pytest.mark.parametrize("case", sorted(UNTRUSTED))
async def test_an_untrusted_certificate_fails_the_handshake(
    system: System, dev_pki: DevPki, refused: dict[str, str], case: str
) -> None:
    cert, key = UNTRUSTED[case](dev_pki)
    error = await _refused(_agency(system.gateway.port, dev_pki, cert, key, TAX.name))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    refused[case] = "handshake fails (UNAVAILABLE)"


@pytest.mark.parametrize(
    "uris",
    [
        (),
        ("spiffe://other.domain/agency/tax-authority",),
        ("spiffe://ndx.local/agency/tax-authority", "spiffe://ndx.local/agency/police"),
    ],
    ids=["no-uri", "other-trust-domain", "two-identities"],
)
async def test_a_certificate_naming_no_single_identity_is_unauthenticated(
    system: System, dev_pki: DevPki, uris: tuple[str, ...], refused: dict[str, str]
) -> None:
    cert, key = dev_pki.issue(TAX, uris=uris)
    trace, traced = _traced()
    error = await _refused(_agency(system.gateway.port, dev_pki, cert, key, "nobody"), traced)
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "no NDX identity" in (error.details() or "")
    info = error_info(error)
    assert info is not None and info.reason == "NO_IDENTITY"
    record = await _audited(system, trace)
    assert (record.decision, record.status, record.agency) == (
        audit_pb2.DECISION_DENY,
        "UNAUTHENTICATED",
        "",
    )
    refused[f"identity URIs: {', '.join(uris) or 'none'}"] = "UNAUTHENTICATED, audited"


async def test_an_agency_the_policy_does_not_know_is_denied(
    system: System, dev_pki: DevPki, refused: dict[str, str]
) -> None:
    cert, key = dev_pki.issue(Identity("agency", "ministry-of-curiosity"))
    error = await _refused(_agency(system.gateway.port, dev_pki, cert, key, "ministry"))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    info = error_info(error)
    assert info is not None and info.reason == "UNKNOWN_AGENCY"
    assert info.metadata["agency"] == "ministry-of-curiosity"
    refused["agency unknown to the policy"] = "PERMISSION_DENIED"


async def test_metadata_claiming_another_agency_is_audited_as_the_certificate(
    system: System, refused: dict[str, str]
) -> None:
    [cid] = await citizen_ids(system, 1)
    # bank-ekyc may verify; claiming to be the police neither widens nor renames the call.
    trace, traced = _traced()
    response, _ = await system.agency("bank-ekyc").call(
        VERIFY_CITIZEN,
        {"citizen_id": cid, "claim_mask": {"paths": ["full_name"]}, "claims": {"full_name": "X"}},
        purpose="ekyc",
        metadata=[*traced, ("x-ndx-agency", "police"), ("x-ndx-identity", "agency/police")],
    )
    assert response is not None
    record = await _audited(system, trace)
    assert (record.agency, record.decision) == ("bank-ekyc", audit_pb2.DECISION_ALLOW)
    refused["metadata claiming another agency"] = "ignored: audited as the certificate's agency"


# --- revocation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def crl_gateway(
    system: System, dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningGateway, Path]]:
    """A second gateway in front of the same registries, reading a CRL (empty at first)."""
    data = tmp_path_factory.mktemp("crl-gateway")
    crl_file = data / "crl.pem"
    crl_file.write_bytes(revocation_list(dev_pki.authority(), []))
    gateway = await start_gateway(
        system.exchange.gateway_settings(
            data, policy_file=system.policy_file, tls_crl_file=crl_file
        ),
        index_audit=False,
    )
    try:
        yield gateway, crl_file
    finally:
        await gateway.stop()


async def test_a_revoked_certificate_is_refused_and_audited(
    system: System,
    dev_pki: DevPki,
    crl_gateway: tuple[RunningGateway, Path],
    refused: dict[str, str],
) -> None:
    gateway, crl_file = crl_gateway
    [cid] = await citizen_ids(system, 1)
    stolen = dev_pki.issue(TAX)
    # One connection throughout: revocation is checked per call, not only at the handshake.
    thief = _agency(gateway.port, dev_pki, *stolen, TAX.name)
    try:
        response, _ = await thief.call(GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration")
        assert response.citizen_id == cid

        crl_file.write_bytes(revocation_list(dev_pki.authority(), [stolen[0]]))
        error, trace = await _refused_eventually(thief, cid)
    finally:
        await thief.channel.close(grace=None)
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert f"({Revocations.describe(stolen[0])}) has been revoked" in (error.details() or "")
    info = error_info(error)
    assert info is not None and info.reason == "CERTIFICATE_REVOKED"
    record = await _audited(system, trace)
    assert (record.agency, record.decision, record.status) == (
        TAX.name,
        audit_pb2.DECISION_DENY,
        "UNAUTHENTICATED",
    )

    # The agency's other certificate (its regular one) still works.
    regular = (dev_pki.cert_file(TAX).read_bytes(), dev_pki.key_file(TAX).read_bytes())
    response, _ = await _call(_agency(gateway.port, dev_pki, *regular, TAX.name), cid)
    assert response.citizen_id == cid
    refused["revoked (CRL), on an open connection"] = "UNAUTHENTICATED, audited"


async def _call(
    agency: Agency, cid: str, metadata: list[tuple[str, str]] | None = None
) -> tuple[Any, Any]:
    try:
        return await agency.call(
            GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration", metadata=metadata or []
        )
    finally:
        await agency.channel.close(grace=None)


async def _refused_eventually(agency: Agency, cid: str) -> tuple[grpc.aio.AioRpcError, str]:
    """The refusal once the gateway has read the new CRL (it checks at most once a second),
    and the trace id of the refused call (each attempt has its own)."""
    for _ in range(50):
        trace, traced = _traced()
        try:
            await agency.call(
                GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration", metadata=traced
            )
        except grpc.aio.AioRpcError as error:
            return error, trace
        await asyncio.sleep(0.2)
    raise AssertionError("the revoked certificate was still accepted after 10 s")
