"""A local development PKI: one CA, one certificate per service, agency and operator."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ndx_runtime.tls import Identity, identity_from_pem

CA_YEARS = 10
LEAF_DAYS = 365
# Certificates closer than this to expiry are renewed by `ensure`.
RENEW_BEFORE = timedelta(days=7)
_SKEW = timedelta(minutes=5)

DEFAULT_IDENTITIES: tuple[Identity, ...] = (
    Identity("service", "gateway"),
    Identity("service", "population"),
    Identity("service", "land"),
    Identity("service", "business-registry"),
    Identity("operator", "ndx-admin"),
    Identity("agency", "police"),
    Identity("agency", "tax-authority"),
    Identity("agency", "social-insurance"),
    Identity("agency", "health-records"),
    Identity("agency", "land-office"),
    Identity("agency", "business-office"),
    Identity("agency", "bank-ekyc"),
    Identity("agency", "citizen-portal"),
)


@dataclass(frozen=True)
class Authority:
    """A CA's certificate and key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_authority(name: str = "NDX Dev CA", years: int = CA_YEARS) -> Authority:
    """A self-signed CA (also used by tests as a 'foreign' CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NDX"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


def issue(
    identity: Identity,
    ca: Authority,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    uris: Sequence[str] | None = None,
) -> tuple[bytes, bytes]:
    """A leaf certificate (PEM) and key (PEM) for `identity`, usable as client and server.

    Valid for a year from now unless told otherwise. Given only `not_after` in the past, the
    certificate is an expired one (valid for the year before); given only `not_before` in the
    future, it is not yet valid (for a year from then). `uris` replaces the identity's URI SAN
    (for tests: none, another trust domain, two identities).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    if not_before is None:
        not_before = now - _SKEW
        if not_after is not None and not_after <= not_before:
            not_before = not_after - timedelta(days=LEAF_DAYS)
    if not_after is None:
        not_after = max(now, not_before) + timedelta(days=LEAF_DAYS)
    if not_after <= not_before:
        raise ValueError(f"not_after {not_after} is not after not_before {not_before}")
    start, end = not_before, not_after
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NDX"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.kind),
                    x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
                ]
            )
        )
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(
                        x509.UniformResourceIdentifier(u)
                        for u in ([identity.uri] if uris is None else uris)
                    ),
                    x509.DNSName("localhost"),
                    x509.DNSName(identity.name),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def revocation_list(ca: Authority, revoked: Sequence[bytes], *, days: int = 7) -> bytes:
    """A CRL (PEM) signed by `ca` listing the PEM certificates `revoked`, for `<P>_TLS_CRL_FILE`."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - _SKEW)
        .next_update(now + timedelta(days=days))
    )
    for pem in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(x509.load_pem_x509_certificate(pem).serial_number)
            .revocation_date(now - _SKEW)
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


class DevPki:
    """Files under `root`: ca.crt/ca.key and <name>.crt/<name>.key per identity."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.crt"

    def cert_file(self, identity: Identity | str) -> Path:
        return self.root / f"{_name(identity)}.crt"

    def key_file(self, identity: Identity | str) -> Path:
        return self.root / f"{_name(identity)}.key"

    def authority(self) -> Authority:
        """The CA, created on first use (and again if it is unreadable or about to expire)."""
        cert_file, key_file = self.ca_file, self.root / "ca.key"
        if cert_file.exists() and key_file.exists():
            ca = _load_authority(cert_file, key_file)
            if ca is not None:
                return ca
        self.root.mkdir(parents=True, exist_ok=True)
        ca = new_authority()
        _write(key_file, _pem_key(ca.key), secret=True)
        _write(cert_file, ca.cert.public_bytes(serialization.Encoding.PEM))
        return ca

    def ensure(self, identities: Sequence[Identity]) -> None:
        """Creates what is missing, invalid or expiring within a week; keeps valid certificates.

        A certificate is kept only if it is signed by the current CA, is currently valid,
        names the same identity and matches its key, so a new CA re-issues everything.
        """
        names: dict[str, Identity] = {}
        for identity in identities:
            if identity.name == "ca":
                raise ValueError("'ca' is reserved for the authority's own files")
            other = names.setdefault(identity.name, identity)
            if other != identity:
                raise ValueError(f"{other} and {identity} would share {identity.name}.crt")
        ca = self.authority()
        for identity in names.values():
            cert_file, key_file = self.cert_file(identity), self.key_file(identity)
            if _still_good(cert_file, key_file, identity, ca):
                continue
            cert_pem, key_pem = issue(identity, ca)
            _write(key_file, key_pem, secret=True)
            _write(cert_file, cert_pem)

    def issue(
        self,
        identity: Identity,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        ca: Authority | None = None,
        uris: Sequence[str] | None = None,
    ) -> tuple[bytes, bytes]:
        """A certificate and key (PEM) signed by `ca` (default: this PKI's CA); not saved.

        For tests: expired (`not_after` in the past), not yet valid (`not_before` in the
        future), foreign-CA (`ca=new_authority("Other CA")`) and identity-less (`uris=[]`)
        certificates.
        """
        return issue(
            identity, ca or self.authority(), not_before=not_before, not_after=not_after, uris=uris
        )


def _name(identity: Identity | str) -> str:
    return identity.name if isinstance(identity, Identity) else identity


def _load_authority(cert_file: Path, key_file: Path) -> Authority | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError:
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    if cert.not_valid_after_utc - datetime.now(UTC) < timedelta(days=30):
        return None
    return Authority(cert, key)


def _still_good(cert_file: Path, key_file: Path, identity: Identity, ca: Authority) -> bool:
    if not (cert_file.exists() and key_file.exists()):
        return False
    try:
        pem = cert_file.read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    now = datetime.now(UTC)
    return (
        cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc > now + RENEW_BEFORE
        and key.public_key() == cert.public_key()
        and identity_from_pem(pem) == identity
    )


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    # A leftover temporary file keeps its old mode; set it explicitly.
    os.fchmod(fd, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
