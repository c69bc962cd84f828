"""mTLS for gRPC: credentials, the peer's identity from its certificate, and an allow-list.

Identity is the SPIFFE-style URI SAN of the client certificate
(`spiffe://ndx.local/<kind>/<name>`), never a metadata value.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509

from .grpc_wrap import AroundInterceptor
from .revocation import Revocations

TRUST_DOMAIN = "ndx.local"
KINDS = frozenset({"agency", "service", "operator"})
# Names end up in DNS SANs and file names: lower-case letters, digits, dots and hyphens.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
# Health checks and reflection are open to every authenticated peer.
OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

current_identity: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "current_identity", default=None
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: an agency, a service or an operator."""

    kind: str
    name: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"identity kind {self.kind!r} is not one of {sorted(KINDS)}")
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"identity name {self.name!r} must be lower-case letters, digits, '.' and '-'"
            )

    @property
    def uri(self) -> str:
        return f"spiffe://{TRUST_DOMAIN}/{self.kind}/{self.name}"

    @property
    def principal(self) -> str:
        """`kind/name`, the form used in allow-lists."""
        return f"{self.kind}/{self.name}"

    @classmethod
    def parse_uri(cls, uri: str) -> Identity:
        prefix = f"spiffe://{TRUST_DOMAIN}/"
        problem = ValueError(
            f"{uri!r} is not spiffe://{TRUST_DOMAIN}/<agency|service|operator>/<name>"
        )
        if not uri.startswith(prefix):
            raise problem
        kind, _, name = uri[len(prefix) :].partition("/")
        try:
            return cls(kind, name)
        except ValueError:
            raise problem from None

    @classmethod
    def parse_principal(cls, principal: str) -> Identity:
        """`service/gateway` → Identity("service", "gateway")."""
        kind, _, name = principal.partition("/")
        try:
            return cls(kind, name)
        except ValueError:
            raise ValueError(
                f"{principal!r} is not <agency|service|operator>/<name>, e.g. service/gateway"
            ) from None

    def __str__(self) -> str:
        return self.principal


def server_credentials(cert_file: Path, key_file: Path, ca_file: Path) -> grpc.ServerCredentials:
    """Server credentials that require a client certificate signed by the CA."""
    return grpc.ssl_server_credentials(
        [(Path(key_file).read_bytes(), Path(cert_file).read_bytes())],
        root_certificates=Path(ca_file).read_bytes(),
        require_client_auth=True,
    )


def channel_credentials(ca_file: Path, cert_file: Path, key_file: Path) -> grpc.ChannelCredentials:
    """Client credentials presenting a certificate and trusting the CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca_file).read_bytes(),
        private_key=Path(key_file).read_bytes(),
        certificate_chain=Path(cert_file).read_bytes(),
    )


@lru_cache(maxsize=1024)
def identity_from_pem(pem: bytes) -> Identity | None:
    """The NDX identity in a certificate's URI SAN, or None.

    A certificate with no NDX URI, or with more than one (ambiguous), has no identity.
    """
    try:
        cert = x509.load_pem_x509_certificate(pem)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    found: set[Identity] = set()
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        try:
            found.add(Identity.parse_uri(uri))
        except ValueError:
            continue
    return found.pop() if len(found) == 1 else None


def peer_certificate(context: grpc.aio.ServicerContext[Any, Any]) -> bytes | None:
    """The caller's leaf certificate (PEM), verified against the CA by the TLS handshake.

    grpc puts it under `x509_pem_cert` of the auth context; only a TLS connection with a
    client certificate has it.
    """
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        return None
    return bytes(next(iter(pems)))


def peer_identity(context: grpc.aio.ServicerContext[Any, Any]) -> Identity | None:
    """The verified identity of the caller (TLS already checked the chain). Metadata is
    never consulted."""
    pem = peer_certificate(context)
    return None if pem is None else identity_from_pem(pem)


def revoked_message(pem: bytes) -> str:
    """What a caller whose certificate is revoked is told."""
    return (
        f"the client certificate ({Revocations.describe(pem)}) has been revoked; "
        "ask the exchange's operator for a new one"
    )


class AllowListInterceptor(AroundInterceptor):
    """Refuses every call whose certificate is revoked or whose identity is not on the
    allow-list."""

    def __init__(self, allowed: frozenset[str], revocations: Revocations | None = None) -> None:
        # Fail at start-up on a malformed entry ("gateway" instead of "service/gateway").
        self.allowed = frozenset(Identity.parse_principal(p).principal for p in allowed)
        self.revocations = revocations
        super().__init__(self._check)

    @asynccontextmanager
    async def _check(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        pem = peer_certificate(context)
        if pem is not None and self.revocations is not None and self.revocations.is_revoked(pem):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, revoked_message(pem))
        identity = None if pem is None else identity_from_pem(pem)
        if identity is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "no NDX identity: present a client certificate with a spiffe://ndx.local/ URI",
            )
        assert identity is not None
        if identity.principal not in self.allowed and not method.startswith(OPEN_SERVICES):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{identity.principal} may not call {method}: this server accepts only "
                f"{', '.join(sorted(self.allowed)) or 'nobody'}"
                + (" (agencies go through the gateway)" if identity.kind == "agency" else ""),
            )
        token = current_identity.set(identity)
        try:
            yield
        finally:
            current_identity.reset(token)
