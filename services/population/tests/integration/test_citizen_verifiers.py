"""The citizen checks registries make, against the fake and against the real population
registry over mTLS (the gateway in between is left to tests/flows): same claims, same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_cli.stack.procs import free_port
from ndx_population.bootstrap import start
from ndx_population.citizen_checks import (
    CitizenClaim,
    CitizenVerifier,
    KnownCitizens,
    check_citizens,
)
from ndx_population.gateway_verifier import GatewayCitizenVerifier
from ndx_runtime.errors import InvalidInput, Unavailable

from ..conftest import Running, registry_settings
from .test_registry_grpc import new_citizen

LAN, HAI, UNKNOWN = "001190012345", "001085000042", "001201999999"
NAMES = {LAN: "Nguyễn Thị Lan", HAI: "Trần Văn Hải"}


def _verifier(address: str, pki: Path, **files: Path) -> GatewayCitizenVerifier:
    return GatewayCitizenVerifier(
        address,
        files.get("ca", pki / "ca.crt"),
        files.get("cert", pki / "land-office.crt"),
        files.get("key", pki / "land-office.key"),
        "land-registration",
        "registry:land",
        timeout=3,
    )


@pytest.fixture(params=["fake", "population"])
async def verifier(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[CitizenVerifier]:
    """Knows Lan (alive) and Hải (deceased)."""
    if request.param == "fake":
        yield KnownCitizens(NAMES, deceased={HAI})
        return
    settings = registry_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'population.db'}", kafka_bootstrap, pki, unique
    )
    # The registry's agency calls the population registry itself here, not via the gateway.
    settings = settings.model_copy(
        update={"allowed_identities": frozenset({"operator/ndx-admin", "agency/land-office"})}
    )
    service = await start(settings)
    address = f"127.0.0.1:{service.host.port}"
    real = _verifier(address, pki)
    try:
        admin = Running(service, settings, pki, address).stub()
        hai = new_citizen(HAI, NAMES[HAI])
        hai.gender, hai.date_of_birth.year = citizen_pb2.GENDER_MALE, 1985
        for citizen in (new_citizen(LAN, NAMES[LAN]), hai):
            await admin.RegisterCitizen(pb.RegisterCitizenRequest(citizen=citizen))
        death = pb.RecordDeathRequest(citizen_id=HAI, expected_version=1)
        death.date_of_death.year, death.date_of_death.month, death.date_of_death.day = 2025, 1, 5
        await admin.RecordDeath(death)
        yield real
    finally:
        await real.close()
        await service.stop()


async def test_citizens_on_file_under_their_names_pass_and_deaths_are_reported(
    verifier: CitizenVerifier,
) -> None:
    claims = [
        CitizenClaim("holders[0]", LAN, "nguyễn thị  lan"),  # as an officer would read it
        CitizenClaim("holders[1]", HAI, NAMES[HAI]),
    ]
    assert await check_citizens(verifier, claims) == {HAI}


async def test_unknown_citizens_and_other_names_are_named(verifier: CitizenVerifier) -> None:
    claims = [
        CitizenClaim("legal_representatives[0]", UNKNOWN, "Lê Văn Mới"),
        CitizenClaim("legal_representatives[1]", LAN, "Nguyễn Thị Lanh"),
        CitizenClaim("members[0]", HAI, "Trần Hải", name_field="name"),
        CitizenClaim("members[1]", LAN, NAMES[LAN], name_field="name"),
    ]
    with pytest.raises(InvalidInput) as refused:
        await check_citizens(verifier, claims)
    assert [v.field for v in refused.value.violations] == [
        "legal_representatives[0].citizen_id",
        "legal_representatives[1].full_name",
        "members[0].name",
    ]


async def test_an_identity_number_the_registry_refuses_is_named_as_the_write_names_it(
    verifier: CitizenVerifier,
) -> None:
    if isinstance(verifier, KnownCitizens):
        pytest.skip("only the population registry parses identity numbers")
    claims = [
        CitizenClaim("holders[0]", LAN, NAMES[LAN]),
        CitizenClaim("holders[1]", "999085012345", "Ai Đó"),
    ]
    with pytest.raises(InvalidInput) as refused:
        await check_citizens(verifier, claims)
    assert [v.field for v in refused.value.violations] == ["holders[1].citizen_id"]


async def test_an_unreachable_gateway_is_unavailable_not_skipped(pki: Path) -> None:
    verifier = _verifier(f"127.0.0.1:{free_port()}", pki)
    try:
        with pytest.raises(Unavailable) as caught:
            await check_citizens(verifier, [CitizenClaim("holders[0]", LAN, NAMES[LAN])])
    finally:
        await verifier.close()
    assert "UNAVAILABLE" in str(caught.value) and "nothing was written" in str(caught.value)


async def test_a_missing_agency_certificate_is_unavailable(pki: Path, tmp_path: Path) -> None:
    verifier = _verifier("127.0.0.1:1", pki, cert=tmp_path / "absent.crt")
    with pytest.raises(Unavailable) as caught:
        await verifier.verify([CitizenClaim("holders[0]", LAN, NAMES[LAN])])
    assert "absent.crt" in str(caught.value)


async def test_a_peer_that_refuses_the_agency_is_unavailable(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> None:
    settings = registry_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'population.db'}", kafka_bootstrap, pki, unique
    )
    service = await start(settings)  # accepts the gateway only
    verifier = _verifier(f"127.0.0.1:{service.host.port}", pki)
    try:
        with pytest.raises(Unavailable) as caught:
            await verifier.verify([CitizenClaim("holders[0]", LAN, NAMES[LAN])])
        assert grpc.StatusCode.PERMISSION_DENIED.name in str(caught.value)
    finally:
        await verifier.close()
        await service.stop()
