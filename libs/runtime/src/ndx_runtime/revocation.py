"""Revoked certificates: a PEM certificate revocation list (CRL) signed by the trusted CA,
read at start and again when the file changes.

gRPC's TLS does not consult CRLs, so the identity check asks this list about the peer's
certificate. The certificate is parsed once per distinct PEM (cached); a call costs a set
lookup and, at most once per `recheck_seconds`, a read of the (small) file.
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from pathlib import Path

import structlog
from cryptography import x509

log = structlog.get_logger(__name__)

# (issuer DER, serial number): a serial is unique only within its issuer.
Key = tuple[bytes, int]


class RevocationError(ValueError):
    """The CRL file cannot be used: unreadable, not PEM, or not signed by a trusted CA."""


@lru_cache(maxsize=1024)
def certificate_key(pem: bytes) -> Key | None:
    """Issuer and serial of a PEM certificate, or None if it does not parse."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    return cert.issuer.public_bytes(), cert.serial_number


def load_crls(crl_file: Path, ca_file: Path) -> frozenset[Key]:
    """Every revoked (issuer, serial) in the CRLs of `crl_file`; each CRL must be signed by a
    CA of `ca_file`, or the whole file is refused."""
    try:
        data = Path(crl_file).read_bytes()
        cas = x509.load_pem_x509_certificates(Path(ca_file).read_bytes())
    except (OSError, ValueError) as error:
        raise RevocationError(f"{crl_file}: {error}") from None
    marker = b"-----BEGIN X509 CRL-----"
    blocks = [marker + part for part in data.split(marker)[1:]]
    if not blocks:
        raise RevocationError(f"{crl_file}: no '-----BEGIN X509 CRL-----' block")
    revoked: set[Key] = set()
    for n, block in enumerate(blocks, 1):
        try:
            crl = x509.load_pem_x509_crl(block)
        except ValueError as error:
            raise RevocationError(f"{crl_file}: CRL {n} does not parse: {error}") from None
        issuers = [ca for ca in cas if ca.subject == crl.issuer]
        if not any(_signed_by(crl, ca) for ca in issuers):
            raise RevocationError(
                f"{crl_file}: CRL {n} (issuer {crl.issuer.rfc4514_string()}) is not signed by "
                f"a CA of {ca_file}"
            )
        issuer = crl.issuer.public_bytes()
        revoked.update((issuer, entry.serial_number) for entry in crl)
    return frozenset(revoked)


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except TypeError:  # a key type CRLs cannot be signed with
        return False


class Revocations:
    """The revoked certificates in force. A CRL that cannot be used at start is fatal; one
    that cannot be used later is logged and the previous list stays in force."""

    def __init__(
        self, crl_file: Path | None, ca_file: Path, *, recheck_seconds: float = 1.0
    ) -> None:
        self.crl_file = crl_file
        self.ca_file = ca_file
        self.recheck_seconds = recheck_seconds
        self.revoked: frozenset[Key] = frozenset()
        self._stamp: bytes | None = None
        self._checked = time.monotonic()
        if crl_file is not None:
            self._stamp = self._file_stamp()
            self.revoked = load_crls(crl_file, ca_file)

    def _file_stamp(self) -> bytes | None:
        # The content's digest, not the mtime: two writes within one clock tick still differ.
        assert self.crl_file is not None
        try:
            return hashlib.sha256(Path(self.crl_file).read_bytes()).digest()
        except OSError:
            return None

    def reload_if_changed(self) -> bool:
        """Reads the file again if it changed; True when a new list took effect."""
        if self.crl_file is None:
            return False
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            revoked = load_crls(self.crl_file, self.ca_file)
        except RevocationError as error:
            log.error("CRL refused; the previous one stays in force", problem=str(error))
            return False
        self.revoked = revoked
        log.info("CRL reloaded", file=str(self.crl_file), revoked=len(revoked))
        return True

    def is_revoked(self, pem: bytes) -> bool:
        """Whether the PEM certificate is on the list (checking the file for changes first,
        at most once per `recheck_seconds`)."""
        if self.crl_file is None:
            return False
        now = time.monotonic()
        if now - self._checked >= self.recheck_seconds:
            self._checked = now
            self.reload_if_changed()
        key = certificate_key(pem)
        return key is None or key in self.revoked

    @staticmethod
    def describe(pem: bytes) -> str:
        """`serial 0x…` of a certificate, for messages."""
        key = certificate_key(pem)
        return "an unreadable certificate" if key is None else f"serial {key[1]:#x}"
