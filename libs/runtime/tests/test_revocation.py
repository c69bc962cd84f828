"""Revoked certificates, over real connections: a registry's server (the shared ServiceHost
with `tls_crl_file`) refuses a caller whose certificate the CRL lists, even one the TLS
handshake accepts and the allow-list names; a changed CRL takes effect without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ndx_cli.stack.certs import DevPki, new_authority, revocation_list
from ndx_runtime.grpc_server import ServiceHost
from ndx_runtime.revocation import RevocationError, Revocations, load_crls
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.tls import Identity

GATEWAY = Identity("service", "gateway")
POPULATION = Identity("service", "population")
CALL_TIMEOUT = 10.0


@dataclass
class Registry:
    port: int
    pki: DevPki
    crl_file: Path

    def revoke(self, *pems: bytes) -> None:
        self.crl_file.write_bytes(revocation_list(self.pki.authority(), pems))


@pytest.fixture(scope="module")
async def registry(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Registry]:
    root = tmp_path_factory.mktemp("revocation")
    pki = DevPki(root / "pki")
    pki.ensure([GATEWAY, POPULATION])
    crl_file = root / "crl.pem"
    crl_file.write_bytes(revocation_list(pki.authority(), []))
    settings = ServiceSettings(
        grpc_port=0,
        tls_cert_file=pki.cert_file(POPULATION),
        tls_key_file=pki.key_file(POPULATION),
        tls_ca_file=pki.ca_file,
        tls_crl_file=crl_file,
        shutdown_grace_seconds=0,
    )
    host = ServiceHost(settings)
    port = await host.start()
    try:
        yield Registry(port, pki, crl_file)
    finally:
        await host.stop(0)


async def _health(registry: Registry, cert_pem: bytes, key_pem: bytes) -> int:
    creds = grpc.ssl_channel_credentials(
        root_certificates=registry.pki.ca_file.read_bytes(),
        private_key=key_pem,
        certificate_chain=cert_pem,
    )
    # A private subchannel pool: every check makes its own connection with its own certificate.
    async with grpc.aio.secure_channel(
        f"localhost:{registry.port}", creds, options=[("grpc.use_local_subchannel_pool", 1)]
    ) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT
        )
    return int(reply.status)


async def _refused(registry: Registry, cert_pem: bytes, key_pem: bytes) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _health(registry, cert_pem, key_pem)
    return caught.value


async def test_a_revoked_certificate_is_refused_and_a_new_one_accepted(registry: Registry) -> None:
    old = registry.pki.issue(GATEWAY)
    new = registry.pki.issue(GATEWAY)
    assert await _health(registry, *old) == health_pb2.HealthCheckResponse.SERVING

    registry.revoke(old[0])
    # The server rereads the file at most once a second; the revocation must land by then.
    error = await _refused_eventually(registry, *old)
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    serial = Revocations.describe(old[0])
    assert f"({serial}) has been revoked" in (error.details() or "")
    # The same identity with another certificate still gets in.
    assert await _health(registry, *new) == health_pb2.HealthCheckResponse.SERVING

    # Taken off the list (an operator's mistake undone), the old certificate works again.
    registry.revoke(new[0])
    await _refused_eventually(registry, *new)
    assert await _health(registry, *old) == health_pb2.HealthCheckResponse.SERVING


async def test_a_crl_not_signed_by_the_ca_is_ignored_on_reload(registry: Registry) -> None:
    mine = registry.pki.issue(GATEWAY)
    registry.revoke(mine[0])
    await _refused_eventually(registry, *mine)

    # A CRL signed by somebody else can neither revoke nor un-revoke: the old list stays.
    other = new_authority("NDX Dev CA")  # the same name, another key
    registry.crl_file.write_bytes(revocation_list(other, []))
    for _ in range(3):
        error = await _refused(registry, *mine)
        assert error.code() is grpc.StatusCode.UNAUTHENTICATED
        await asyncio.sleep(0.6)
    registry.revoke()


def test_an_unusable_crl_is_fatal_at_start(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    pki.authority()
    crl_file = tmp_path / "crl.pem"
    crl_file.write_bytes(revocation_list(new_authority("Other CA"), []))
    with pytest.raises(RevocationError, match="not signed by a CA"):
        Revocations(crl_file, pki.ca_file)
    crl_file.write_bytes(b"not a CRL")
    with pytest.raises(RevocationError, match="no '-----BEGIN X509 CRL-----' block"):
        Revocations(crl_file, pki.ca_file)
    with pytest.raises(RevocationError, match=r"missing\.pem"):
        Revocations(tmp_path / "missing.pem", pki.ca_file)


def test_the_list_holds_issuer_and_serial(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    cert, _ = pki.issue(GATEWAY)
    crl_file = tmp_path / "crl.pem"
    crl_file.write_bytes(revocation_list(pki.authority(), [cert]))
    revocations = Revocations(crl_file, pki.ca_file)
    assert revocations.is_revoked(cert)
    assert not revocations.is_revoked(pki.issue(GATEWAY)[0])
    assert len(load_crls(crl_file, pki.ca_file)) == 1
    assert not Revocations(None, pki.ca_file).is_revoked(cert)


async def _refused_eventually(
    registry: Registry, cert_pem: bytes, key_pem: bytes
) -> grpc.aio.AioRpcError:
    """The refusal, once the server has read the new CRL (it checks once a second)."""
    for _ in range(50):
        try:
            await _health(registry, cert_pem, key_pem)
        except grpc.aio.AioRpcError as error:
            return error
        await asyncio.sleep(0.2)
    raise AssertionError("the revoked certificate was still accepted after 10 s")
