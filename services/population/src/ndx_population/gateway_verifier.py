"""Checking citizens through the gateway, as the registry's own agency.

A registry asks `ndx.population.v1.PopulationService/BatchVerifyCitizens` with its agency
certificate (land-office, business-office), a purpose and an officer id, so the gateway applies
that agency's verify-only grant and writes an audit record like for any agency's question. Each
claim names two fields: `full_name`, and `date_of_death` claimed empty ("no death recorded"),
which the population registry answers UNKNOWN while nothing is recorded and MISMATCH once a
death is. A citizen not on file answers UNKNOWN to both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
import structlog
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2
from opentelemetry import propagate
from pydantic_settings import BaseSettings, SettingsConfigDict

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2, population_service_pb2_grpc
from ndx.population.v1 import population_service_pb2 as pb
from ndx_runtime.errors import InvalidInput, Unavailable, Violation
from ndx_runtime.grpc_errors import details_of
from ndx_runtime.grpc_observe import client_span
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.tls import channel_credentials

from .citizen_checks import CitizenClaim, Unverified, Verdict

log = structlog.get_logger(__name__)

# The population registry takes at most this many verifications a call.
MAX_BATCH = 1_000
CLAIM_MASK = FieldMask(paths=["full_name", "date_of_death"])
_TRACE_HEADERS = ("traceparent", "tracestate")
_DEPENDENCY = "population registry (through the gateway)"
_METHOD = "ndx.population.v1.PopulationService/BatchVerifyCitizens"


class VerifiesCitizens(BaseSettings):
    """Settings of a registry that checks the citizens its writes name, through the gateway
    (mixed into its service settings; the CA is the service's tls_ca_file)."""

    model_config = SettingsConfigDict(use_attribute_docstrings=True)

    gateway_address: str = "127.0.0.1:50051"
    """host:port of the gateway, through which citizens named in writes are verified. Empty
    turns the checks off, for a registry tested on its own (start-up logs a warning)."""
    agency_cert_file: Path = Path(".ndx/pki/agency.crt")
    """PEM certificate of the registry's own agency, presented to the gateway for the checks."""
    agency_key_file: Path = Path(".ndx/pki/agency.key")
    """PEM private key of `agency_cert_file`."""
    verify_purpose: str = ""
    """Purpose (procedure) code of the checks, as the gateway's audit records show it."""
    verify_officer: str = ""
    """Officer id of the checks, as the gateway's audit records show it."""
    verify_timeout_seconds: float = 5.0
    """Deadline of one verification call; a write whose checks time out is refused."""


class GatewayCitizenVerifier:
    """A CitizenVerifier asking the population registry through the gateway: one
    BatchVerifyCitizens call per write (per 1,000 citizens)."""

    def __init__(
        self,
        address: str,
        ca: Path,
        cert: Path,
        key: Path,
        purpose: str,
        officer: str,
        *,
        timeout: float = 5.0,
    ) -> None:
        self.address = address
        self._files = (ca, cert, key)
        self._metadata = (("x-ndx-purpose", purpose), ("x-ndx-officer", officer))
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> population_service_pb2_grpc.PopulationServiceAsyncStub:
        if self._channel is None:
            # Opened on first use: a missing certificate fails the checks, not the start-up.
            try:
                credentials = channel_credentials(*self._files)
            except OSError as e:
                raise Unavailable(
                    _DEPENDENCY,
                    f"citizens cannot be verified: the agency certificate cannot be read ({e}); "
                    "nothing was written",
                ) from None
            self._channel = grpc.aio.secure_channel(self.address, credentials)
        return population_service_pb2_grpc.PopulationServiceStub(self._channel)

    async def verify(self, claims: Sequence[CitizenClaim]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for start in range(0, len(claims), MAX_BATCH):
            verdicts.extend(await self._ask(claims[start : start + MAX_BATCH]))
        return verdicts

    async def _ask(self, claims: Sequence[CitizenClaim]) -> list[Verdict]:
        request = pb.BatchVerifyCitizensRequest(
            requests=[
                pb.VerifyCitizenRequest(
                    citizen_id=c.citizen_id,
                    claims=citizen_pb2.Citizen(full_name=c.full_name),
                    claim_mask=CLAIM_MASK,
                )
                for c in claims
            ]
        )
        try:
            with client_span(_METHOD):
                carrier: dict[str, str] = {}
                propagate.inject(carrier)  # the write's trace continues into the gateway's audit
                metadata = [
                    *self._metadata,
                    *((k, v) for k, v in carrier.items() if k in _TRACE_HEADERS),
                ]
                response = await self._stub().BatchVerifyCitizens(
                    request, metadata=metadata, timeout=self._timeout
                )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise _located(error, claims) from None
            log.error(
                "citizen verification failed",
                gateway=self.address,
                code=error.code().name,
                details=error.details(),
            )
            raise Unavailable(
                _DEPENDENCY,
                f"citizens could not be verified with the population registry through the "
                f"gateway at {self.address} ({error.code().name}: {error.details()}); "
                "nothing was written, try again later",
            ) from None
        if len(response.results) != len(claims):
            raise Unavailable(
                _DEPENDENCY,
                f"the population registry answered {len(response.results)} verifications for "
                f"{len(claims)} claims; nothing was written",
            )
        return [_verdict(r) for r in response.results]

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)
            self._channel = None


def _verdict(response: pb.VerifyCitizenResponse) -> Verdict:
    results = {r.field: r.result for r in response.results}
    name = results.get("full_name", types_pb2.VERIFY_RESULT_UNKNOWN)
    death = results.get("date_of_death", types_pb2.VERIFY_RESULT_UNKNOWN)
    return Verdict(
        on_file=name != types_pb2.VERIFY_RESULT_UNKNOWN,
        name_matches=name == types_pb2.VERIFY_RESULT_MATCH,
        # "No death recorded" differs from what is stored: a death is.
        deceased=death in (types_pb2.VERIFY_RESULT_MISMATCH, types_pb2.VERIFY_RESULT_MATCH),
    )


def _located(error: grpc.aio.AioRpcError, claims: Sequence[CitizenClaim]) -> InvalidInput:
    """The population registry's INVALID_ARGUMENT with its `requests[i].…` fields named as the
    write names them (a citizen id it refuses, say)."""
    violations: list[Violation] = []
    status = details_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend(
                _relocate(v.field, v.description, claims) for v in bad.field_violations
            )
    return InvalidInput(violations or [Violation("citizens", error.details() or "refused")])


def _relocate(field: str, description: str, claims: Sequence[CitizenClaim]) -> Violation:
    head, _, rest = field.partition("].")
    if head.startswith("requests[") and head[9:].isdigit() and int(head[9:]) < len(claims):
        claim = claims[int(head[9:])]
        if rest == "citizen_id":
            return Violation(f"{claim.field}.citizen_id", description)
        if rest == "claims.full_name":
            return Violation(f"{claim.field}.{claim.name_field}", description)
        return Violation(claim.field, f"{rest}: {description}")
    return Violation("citizens", f"{field}: {description}")


def citizen_verifier(settings: ServiceSettings) -> GatewayCitizenVerifier | Unverified:
    """The registry's citizen checks as its settings say: through the gateway, or, with no
    gateway address, none at all (logged as a warning)."""
    assert isinstance(settings, VerifiesCitizens), (
        "the service's settings must mix in VerifiesCitizens"
    )
    prefix = str(settings.model_config.get("env_prefix", ""))
    if not settings.gateway_address:
        log.warning(
            "CITIZENS NAMED IN WRITES ARE NOT VERIFIED: no gateway address; run like this only "
            "for the registry's own tests",
            setting=f"{prefix}GATEWAY_ADDRESS",
            service=settings.service_name,
        )
        return Unverified()
    files = (settings.tls_ca_file, settings.agency_cert_file, settings.agency_key_file)
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        log.error(
            "citizen checks will fail until the agency certificate is present: writes naming "
            "citizens are refused (UNAVAILABLE)",
            missing=missing,
        )
    log.info(
        "citizens named in writes are verified through the gateway",
        gateway=settings.gateway_address,
        agency_certificate=str(settings.agency_cert_file),
        verify_purpose=settings.verify_purpose,
        verify_officer=settings.verify_officer,
    )
    return GatewayCitizenVerifier(
        settings.gateway_address,
        *files,
        settings.verify_purpose,
        settings.verify_officer,
        timeout=settings.verify_timeout_seconds,
    )
