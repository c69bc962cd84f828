"""A local development PKI: one CA, one certificate per service, agency and operator."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ndx_runtime.tls import Identity

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


def new_authority(name: str = "NDX Dev CA", years: int = 10) -> Authority:
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
        .not_valid_before(now - timedelta(minutes=5))
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
) -> tuple[bytes, bytes]:
    """A leaf certificate (PEM) and key (PEM) for `identity`, usable as client and server."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    start = not_before or now - timedelta(minutes=5)
    end = not_after or now + timedelta(days=365)
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
                    x509.UniformResourceIdentifier(identity.uri),
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


class DevPki:
    """Files under `root`: ca.crt/ca.key and <name>.crt/<name>.key per identity."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def authority(self) -> Authority:
        """The CA, created on first use."""
        cert_file, key_file = self.root / "ca.crt", self.root / "ca.key"
        if cert_file.exists() and key_file.exists():
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return Authority(cert, key)
        self.root.mkdir(parents=True, exist_ok=True)
        ca = new_authority()
        _write(key_file, _pem_key(ca.key), secret=True)
        _write(cert_file, ca.cert.public_bytes(serialization.Encoding.PEM))
        return ca

    def ensure(self, identities: tuple[Identity, ...] | list[Identity]) -> None:
        """Creates what is missing or expiring within a week; keeps valid certificates."""
        ca = self.authority()
        soon = datetime.now(UTC) + timedelta(days=7)
        for identity in identities:
            cert_file, key_file = (
                self.root / f"{identity.name}.crt",
                self.root / f"{identity.name}.key",
            )
            if cert_file.exists() and key_file.exists():
                cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
                if cert.not_valid_after_utc > soon and cert.issuer == ca.cert.subject:
                    continue
            cert_pem, key_pem = issue(identity, ca)
            _write(key_file, key_pem, secret=True)
            _write(cert_file, cert_pem)


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
