"""mTLS identity, end to end: a real grpc.aio server, real certificates from the dev PKI.

The server presents the population registry's certificate and lets only `service/gateway`
call it; health checks are open to every authenticated peer.
"""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ndx_cli.stack.certs import DEFAULT_IDENTITIES, Authority, DevPki, issue, new_authority
from ndx_runtime.tls import (
    AllowListInterceptor,
    Identity,
    channel_credentials,
    current_identity,
    identity_from_pem,
    peer_identity,
    server_credentials,
)

GATEWAY = Identity("service", "gateway")
POPULATION = Identity("service", "population")
TAX = Identity("agency", "tax-authority")
ADMIN = Identity("operator", "ndx-admin")
ECHO = "/ndx.test.Echo/Echo"
REPEAT = "/ndx.test.Echo/Repeat"
CALL_TIMEOUT = 10.0


@dataclass
class Server:
    port: int
    pki: DevPki
    root: Path


@pytest.fixture(scope="module")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    pki = DevPki(tmp_path_factory.mktemp("pki"))
    pki.ensure([GATEWAY, POPULATION, TAX, ADMIN])
    return pki


def _seen_by_handler(context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
    """What the handler sees: the interceptor's context variable and the certificate."""
    return f"{current_identity.get()}|{peer_identity(context)}".encode()


async def _echo(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
    return _seen_by_handler(context) + b"|" + request


async def _repeat(
    request: bytes, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[bytes]:
    for _ in range(3):
        yield _seen_by_handler(context)


@pytest.fixture(scope="module")
async def server(dev_pki: DevPki) -> AsyncIterator[Server]:
    srv = grpc.aio.server(interceptors=[AllowListInterceptor(frozenset({"service/gateway"}))])
    srv.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "ndx.test.Echo",
                {
                    "Echo": grpc.unary_unary_rpc_method_handler(_echo),
                    "Repeat": grpc.unary_stream_rpc_method_handler(_repeat),
                },
            ),
        )
    )
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, srv)
    port = srv.add_secure_port(
        "127.0.0.1:0",
        server_credentials(
            dev_pki.cert_file(POPULATION), dev_pki.key_file(POPULATION), dev_pki.ca_file
        ),
    )
    await srv.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        yield Server(port, dev_pki, dev_pki.root)
    finally:
        await srv.stop(None)


def _creds(pki: DevPki, who: Identity) -> grpc.ChannelCredentials:
    return channel_credentials(pki.ca_file, pki.cert_file(who), pki.key_file(who))


def _creds_from_pem(pki: DevPki, cert_pem: bytes, key_pem: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca_file.read_bytes(),
        private_key=key_pem,
        certificate_chain=cert_pem,
    )


def _channel(server: Server, creds: grpc.ChannelCredentials) -> grpc.aio.Channel:
    # A private subchannel pool: no connection is shared with another test's channel.
    return grpc.aio.secure_channel(
        f"localhost:{server.port}", creds, options=[("grpc.use_local_subchannel_pool", 1)]
    )


async def _call(
    server: Server,
    creds: grpc.ChannelCredentials,
    metadata: tuple[tuple[str, str], ...] = (),
) -> bytes:
    async with _channel(server, creds) as channel:
        response: bytes = await channel.unary_unary(ECHO, None, None)(
            b"ping", metadata=metadata, timeout=CALL_TIMEOUT
        )
        return response


async def _refused(
    server: Server,
    creds: grpc.ChannelCredentials,
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await _call(server, creds, metadata)
    return e.value


# --- the allow-list over a real connection ---------------------------------------------


async def test_gateway_is_served_and_the_handler_sees_its_identity(server: Server) -> None:
    response = await _call(server, _creds(server.pki, GATEWAY))
    assert response == b"service/gateway|service/gateway|ping"


async def test_streaming_calls_run_inside_the_check(server: Server) -> None:
    async with _channel(server, _creds(server.pki, GATEWAY)) as channel:
        items = [
            item
            async for item in channel.unary_stream(REPEAT, None, None)(b"", timeout=CALL_TIMEOUT)
        ]
    assert items == [b"service/gateway|service/gateway"] * 3

    async with _channel(server, _creds(server.pki, TAX)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            _ = [
                item
                async for item in channel.unary_stream(REPEAT, None, None)(
                    b"", timeout=CALL_TIMEOUT
                )
            ]
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_agency_is_denied_by_name(server: Server) -> None:
    error = await _refused(server, _creds(server.pki, TAX))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    details = error.details() or ""
    assert "agency/tax-authority" in details
    assert ECHO in details
    assert "service/gateway" in details


async def test_operator_not_on_the_list_is_denied(server: Server) -> None:
    error = await _refused(server, _creds(server.pki, ADMIN))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "operator/ndx-admin" in (error.details() or "")


async def test_health_is_open_to_any_authenticated_peer(server: Server) -> None:
    async with _channel(server, _creds(server.pki, TAX)) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_metadata_cannot_claim_another_identity(server: Server) -> None:
    claims = (
        ("x-ndx-identity", "service/gateway"),
        ("x-spiffe-id", GATEWAY.uri),
        ("x509_pem_cert", "service/gateway"),
        ("peer_spiffe_id", GATEWAY.uri),
    )
    error = await _refused(server, _creds(server.pki, TAX), metadata=claims)
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "agency/tax-authority" in (error.details() or "")

    # Nor does it lower the gateway to what it claims to be.
    response = await _call(
        server, _creds(server.pki, GATEWAY), metadata=(("x-ndx-identity", "agency/police"),)
    )
    assert response.startswith(b"service/gateway|service/gateway|")


# --- certificates the TLS handshake refuses ----------------------------------------------


async def test_no_client_certificate_fails_the_handshake(server: Server) -> None:
    creds = grpc.ssl_channel_credentials(root_certificates=server.pki.ca_file.read_bytes())
    error = await _refused(server, creds)
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_certificate_from_another_ca_fails(server: Server) -> None:
    foreign = new_authority("Some Other CA")
    cert_pem, key_pem = server.pki.issue(GATEWAY, ca=foreign)
    error = await _refused(server, _creds_from_pem(server.pki, cert_pem, key_pem))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_ca_impostor_with_the_same_name_fails(server: Server) -> None:
    # Same subject as the dev CA, different key: only the signature tells them apart.
    cert_pem, key_pem = server.pki.issue(GATEWAY, ca=_same_subject_ca(server.pki.authority()))
    error = await _refused(server, _creds_from_pem(server.pki, cert_pem, key_pem))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_expired_certificate_fails(server: Server) -> None:
    cert_pem, key_pem = server.pki.issue(GATEWAY, not_after=datetime.now(UTC) - timedelta(days=1))
    assert x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc < datetime.now(UTC)
    error = await _refused(server, _creds_from_pem(server.pki, cert_pem, key_pem))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_not_yet_valid_certificate_fails(server: Server) -> None:
    cert_pem, key_pem = server.pki.issue(GATEWAY, not_before=datetime.now(UTC) + timedelta(days=1))
    error = await _refused(server, _creds_from_pem(server.pki, cert_pem, key_pem))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_valid_certificate_without_an_ndx_identity_is_unauthenticated(
    server: Server,
) -> None:
    cert_pem, key_pem = _leaf_without_ndx_uri(server.pki.authority())
    error = await _refused(server, _creds_from_pem(server.pki, cert_pem, key_pem))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "no NDX identity" in (error.details() or "")


# --- identities and certificates -----------------------------------------------------------


def test_identity_uri_round_trip() -> None:
    assert TAX.uri == "spiffe://ndx.local/agency/tax-authority"
    assert Identity.parse_uri(TAX.uri) == TAX
    assert Identity.parse_uri("spiffe://ndx.local/operator/ndx-admin") == ADMIN
    assert str(GATEWAY) == GATEWAY.principal == "service/gateway"


@pytest.mark.parametrize(
    "uri",
    [
        "spiffe://other.domain/service/gateway",
        "spiffe://ndx.local/robot/gateway",
        "spiffe://ndx.local/service/",
        "spiffe://ndx.local/service",
        "spiffe://ndx.local/service/gate/way",
        "spiffe://ndx.local/service/Gateway",
        "https://ndx.local/service/gateway",
        "service/gateway",
        "",
    ],
)
def test_parse_uri_rejects_anything_else(uri: str) -> None:
    with pytest.raises(ValueError, match=r"spiffe://ndx\.local/<agency"):
        Identity.parse_uri(uri)


def test_a_certificate_naming_two_identities_names_none(dev_pki: DevPki) -> None:
    cert_pem, _ = _leaf_without_ndx_uri(dev_pki.authority(), (GATEWAY.uri, TAX.uri))
    assert identity_from_pem(cert_pem) is None
    assert identity_from_pem(b"not a certificate") is None


def test_allow_list_entries_are_checked() -> None:
    with pytest.raises(ValueError, match="service/gateway"):
        AllowListInterceptor(frozenset({"gateway"}))
    assert AllowListInterceptor(frozenset({"service/gateway"})).allowed == {"service/gateway"}


def test_dev_pki_files(dev_pki: DevPki) -> None:
    ca = x509.load_pem_x509_certificate(dev_pki.ca_file.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=3650)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert stat.S_IMODE((dev_pki.root / "ca.key").stat().st_mode) == 0o600

    pem = dev_pki.cert_file(TAX).read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    cert.verify_directly_issued_by(ca)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "tax-authority"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=364) < lifetime < timedelta(days=367)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [TAX.uri]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "tax-authority"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    assert identity_from_pem(pem) == TAX
    assert stat.S_IMODE(dev_pki.key_file(TAX).stat().st_mode) == 0o600


def test_ensure_is_idempotent_and_renews_what_is_invalid(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    pki.ensure(list(DEFAULT_IDENTITIES))
    names = {p.name for p in pki.root.iterdir()}
    assert names == {"ca.crt", "ca.key"} | {
        f"{i.name}.{ext}" for i in DEFAULT_IDENTITIES for ext in ("crt", "key")
    }
    before = {p.name: p.read_bytes() for p in pki.root.iterdir()}
    pki.ensure(list(DEFAULT_IDENTITIES))
    assert {p.name: p.read_bytes() for p in pki.root.iterdir()} == before

    # An expired certificate is replaced; the others stay.
    cert_pem, key_pem = pki.issue(GATEWAY, not_after=datetime.now(UTC) - timedelta(hours=1))
    pki.cert_file(GATEWAY).write_bytes(cert_pem)
    pki.key_file(GATEWAY).write_bytes(key_pem)
    pki.ensure(list(DEFAULT_IDENTITIES))
    assert pki.cert_file(GATEWAY).read_bytes() not in (cert_pem, before["gateway.crt"])
    assert pki.cert_file(POPULATION).read_bytes() == before["population.crt"]

    # A new CA (same name, new key) re-issues every certificate.
    (pki.root / "ca.key").unlink()
    pki.ensure(list(DEFAULT_IDENTITIES))
    ca = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    for identity in DEFAULT_IDENTITIES:
        x509.load_pem_x509_certificate(
            pki.cert_file(identity).read_bytes()
        ).verify_directly_issued_by(ca)


def test_ensure_refuses_names_that_collide(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"gateway\.crt"):
        DevPki(tmp_path).ensure([GATEWAY, Identity("agency", "gateway")])


# --- helpers building certificates the dev PKI never issues ----------------------------


def _same_subject_ca(real: Authority) -> Authority:
    """A CA with the real one's subject but its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(real.cert.subject)
        .issuer_name(real.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


def _leaf_without_ndx_uri(
    ca: Authority, uris: tuple[str, ...] = ("spiffe://other.domain/service/gateway",)
) -> tuple[bytes, bytes]:
    """A certificate from the right CA that names no single NDX identity."""
    return issue(GATEWAY, ca, uris=uris)
