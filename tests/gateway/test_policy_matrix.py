"""Every agency and purpose of the default policy, through the real gateway: each granted read
returns exactly the granted fields (in single, batch and list results), every other method is
PERMISSION_DENIED, a read mask naming a denied field is PERMISSION_DENIED with the fields, and
verify-only grants answer MATCH/MISMATCH without disclosing anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from ndx_gateway.policy import DEFAULT_POLICY, Grant, Policy, load_policy

from .conftest import POOL, System
from .support import detail_of, error_info, rows

DEFAULT = load_policy(DEFAULT_POLICY, POOL)
PAIRS = sorted(DEFAULT.grants)
RESOURCES = {
    "ndx.population.v1.PopulationService": "ndx.population.v1.Citizen",
    "ndx.land.v1.LandService": "ndx.land.v1.Parcel",
    "ndx.business.v1.BusinessRegistryService": "ndx.business.v1.Enterprise",
}
SERVED = [*RESOURCES, "ndx.gateway.v1.DataTrackerService"]
# Whoever reads everything of a resource, to know the whole record.
FULL_READERS = {
    "ndx.population.v1.Citizen": ("police", "population-management"),
    "ndx.land.v1.Parcel": ("land-office", "land-registration"),
    "ndx.business.v1.Enterprise": ("business-office", "business-registration"),
}


@dataclass
class Samples:
    """Seeded records with many fields set, and the requests of every read method."""

    reads: dict[str, dict[str, Any]]
    citizen_id: str


@pytest.fixture(scope="module")
async def samples(system: System) -> Samples:
    filled = (
        "(father_id != '') + (mother_id != '') + (spouse_id != '') + (religion != '') + "
        "(blood_type != 0) + (phone != '') + (email != '') + (old_id_number != '') + "
        "(household_id != '') + (id_card_issue_date is not null)"
    )
    citizens = [
        str(r[0])
        for r in await rows(
            system, "population", f"select citizen_id from citizens order by {filled} desc limit 3"
        )
    ]
    [(household,)] = await rows(
        system,
        "population",
        f"select household_id from citizens where citizen_id = '{citizens[0]}'",
    )
    parcels = [
        str(r[0])
        for r in await rows(
            system,
            "land",
            "select p.parcel_id from parcels p where exists (select 1 from mortgages m "
            "where m.parcel_id = p.parcel_id) order by p.parcel_id limit 3",
        )
    ]
    [(holder,)] = await rows(
        system, "land", f"select citizen_id from holders where parcel_id = '{parcels[0]}' limit 1"
    )
    enterprises = [
        str(r[0])
        for r in await rows(
            system,
            "business",
            "select e.enterprise_code from enterprises e where exists (select 1 from branches b "
            "where b.enterprise_code = e.enterprise_code) order by 1 limit 3",
        )
    ]
    [(ward,)] = await rows(
        system,
        "business",
        f"select head_office_ward from enterprises where enterprise_code = '{enterprises[0]}'",
    )
    pop, land, biz = (
        "ndx.population.v1.PopulationService",
        "ndx.land.v1.LandService",
        "ndx.business.v1.BusinessRegistryService",
    )
    reads = {
        f"{pop}/GetCitizen": {"citizen_id": citizens[0]},
        f"{pop}/BatchGetCitizens": {"citizen_ids": citizens},
        f"{pop}/ListCitizens": {"household_id": household},
        f"{pop}/ListHouseholdMembers": {"household_id": household},
        f"{land}/GetParcel": {"parcel_id": parcels[0]},
        f"{land}/BatchGetParcels": {"parcel_ids": parcels},
        f"{land}/ListParcels": {"holder_citizen_id": holder},
        f"{biz}/GetEnterprise": {"enterprise_code": enterprises[0]},
        f"{biz}/BatchGetEnterprises": {"enterprise_codes": enterprises},
        f"{biz}/ListEnterprises": {"ward_code": ward},
    }
    return Samples(reads, citizens[0])


def leaves(message: Message, prefix: str = "") -> set[str]:
    """The paths of every set field; singular messages are walked into, lists are one path."""
    out: set[str] = set()
    for fd, value in message.ListFields():
        path = f"{prefix}{fd.name}"
        if fd.message_type is not None and not fd.is_repeated and value.ListFields():
            out |= leaves(value, f"{path}.")
        else:
            out.add(path)
    return out


def instances(message: Message, resource: str) -> list[Message]:
    """Every message of type `resource` inside a response."""
    if message.DESCRIPTOR.full_name == resource:
        return [message]
    found: list[Message] = []
    for fd, value in message.ListFields():
        if fd.message_type is not None:
            for item in value if fd.is_repeated else [value]:
                found.extend(instances(item, resource))
    return found


def granted_paths(agency: str, purpose: str, resource: str) -> list[str]:
    """The grant as written in the policy file, relative to the resource ("" = everything)."""
    import yaml

    document = yaml.safe_load(DEFAULT_POLICY.read_text())
    written = document["agencies"][agency]["purposes"][purpose].get("read", [])
    out = []
    for path in written:
        if path.startswith(resource + "."):
            rest = path[len(resource) + 1 :]
            out.append("" if rest == "*" else rest.removesuffix(".*"))
    return out


def expected(full: Message, grants: list[str]) -> set[str]:
    def allowed(path: str) -> bool:
        return any(g == "" or path == g or path.startswith(g + ".") for g in grants)

    return {p for p in leaves(full) if allowed(p)}


async def call(
    system: System, agency: str, purpose: str, method: str, body: dict[str, Any]
) -> tuple[Message, dict[str, str]]:
    return await system.agency(agency).call(method, body, purpose=purpose)


def ids_of(message: Message) -> str:
    for key in ("citizen_id", "parcel_id", "enterprise_code"):
        if key in message.DESCRIPTOR.fields_by_name:
            return str(getattr(message, key))
    raise AssertionError(message.DESCRIPTOR.full_name)


@pytest.mark.parametrize(("agency", "purpose"), PAIRS)
async def test_granted_reads_return_exactly_the_granted_fields(
    system: System, samples: Samples, agency: str, purpose: str
) -> None:
    grant = DEFAULT.grants[(agency, purpose)]
    checked = 0
    for method, body in samples.reads.items():
        if method not in grant.methods:
            continue
        resource = RESOURCES[method.partition("/")[0]]
        response, trailers = await call(system, agency, purpose, method, body)
        full_response, _ = await call(system, *FULL_READERS[resource], method, body)
        got, full = instances(response, resource), instances(full_response, resource)
        assert got and len(got) == len(full), method
        grants = granted_paths(agency, purpose, resource)
        redacted: set[str] = set()
        for item, whole in zip(got, full, strict=True):
            assert ids_of(item) == ids_of(whole) or not ids_of(item)
            assert leaves(item) == expected(whole, grants), (agency, purpose, method)
            redacted |= {f"{resource}.{p.split('.')[0]}" for p in leaves(whole) - leaves(item)}
        assert set(filter(None, trailers.get("x-ndx-redacted", "").split(","))) == redacted
        checked += 1
    reads = [m for m in samples.reads if m in grant.methods]
    assert checked == len(reads)


@pytest.mark.parametrize(("agency", "purpose"), PAIRS)
async def test_every_method_not_granted_is_denied(
    system: System, agency: str, purpose: str
) -> None:
    grant = DEFAULT.grants[(agency, purpose)]
    for service_name in SERVED:
        for method in POOL.FindServiceByName(service_name).methods:
            name = f"{service_name}/{method.name}"
            if name in grant.methods:
                continue
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(system, agency, purpose, name, {})
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, name
            info = error_info(caught.value)
            assert info is not None and info.reason == "METHOD_NOT_GRANTED", name


def _denied_fields(grant: Grant, policy: Policy, resource: str) -> list[str]:
    readable = policy.readable(grant, resource)
    names = POOL.FindMessageTypeByName(resource).fields_by_name
    return sorted(n for n in names if not readable.grants([n]))


@pytest.mark.parametrize(("agency", "purpose"), PAIRS)
async def test_a_read_mask_naming_a_denied_field_is_refused(
    system: System, samples: Samples, agency: str, purpose: str
) -> None:
    from google.rpc import error_details_pb2

    grant = DEFAULT.grants[(agency, purpose)]
    gets = [m for m in samples.reads if m in grant.methods and "/Get" in m]
    if not gets:
        pytest.skip(f"{agency}/{purpose} reads no resource")
    for method in gets:
        resource = RESOURCES[method.partition("/")[0]]
        denied = _denied_fields(grant, DEFAULT, resource)
        if not denied:
            continue  # reads the whole resource
        readable = [
            n for n in POOL.FindMessageTypeByName(resource).fields_by_name if n not in denied
        ]
        body = {**samples.reads[method], "read_mask": {"paths": [readable[0], *denied[:2]]}}
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(system, agency, purpose, method, body)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        info = error_info(caught.value)
        assert info is not None and info.reason == "FIELDS_NOT_GRANTED"
        assert info.metadata["fields"].split(",") == [f"{resource}.{d}" for d in denied[:2]]
        bad = detail_of(caught.value, error_details_pb2.BadRequest)
        assert bad is not None
        # Asking only for granted fields works and returns only those.
        body = {**samples.reads[method], "read_mask": {"paths": readable[:2]}}
        response, _ = await call(system, agency, purpose, method, body)
        assert {p.split(".")[0] for p in leaves(response)} <= set(readable[:2])


VERIFIERS = [
    pair
    for pair in PAIRS
    if "ndx.population.v1.PopulationService/VerifyCitizen" in DEFAULT.grants[pair].methods
]


@pytest.mark.parametrize(("agency", "purpose"), VERIFIERS)
async def test_verify_only_answers_match_or_mismatch_and_discloses_nothing(
    system: System, samples: Samples, agency: str, purpose: str
) -> None:
    grant = DEFAULT.grants[(agency, purpose)]
    method = "ndx.population.v1.PopulationService/VerifyCitizen"
    whole, _ = await call(
        system,
        "police",
        "population-management",
        "ndx.population.v1.PopulationService/GetCitizen",
        {"citizen_id": samples.citizen_id},
    )
    claimable = [
        f
        for f in ("full_name", "date_of_birth")
        if DEFAULT.claimable(grant, "ndx.population.v1.Citizen", [f])
    ]
    assert claimable
    right = {"citizen_id": samples.citizen_id, "claim_mask": {"paths": claimable}, "claims": {}}
    claims = type(whole)()
    for f in claimable:
        if f == "full_name":
            claims.full_name = whole.full_name  # type: ignore[attr-defined]
        else:
            claims.date_of_birth.CopyFrom(whole.date_of_birth)  # type: ignore[attr-defined]
    right["claims"] = claims
    response, trailers = await call(system, agency, purpose, method, right)
    assert response.overall == 1  # type: ignore[attr-defined]  # MATCH
    assert "x-ndx-redacted" not in trailers
    assert set(response.DESCRIPTOR.fields_by_name) == {"citizen_id", "overall", "results"}
    wrong_claims = type(whole)(full_name=whole.full_name + " Giả")  # type: ignore[attr-defined]
    wrong = {
        "citizen_id": samples.citizen_id,
        "claim_mask": {"paths": ["full_name"]},
        "claims": wrong_claims,
    }
    if "full_name" in claimable:
        response, _ = await call(system, agency, purpose, method, wrong)
        assert response.overall == 2  # type: ignore[attr-defined]  # MISMATCH
    # A claim about a field neither readable nor verifiable is refused.
    for field in ("religion", "blood_type", "father_id"):
        if not DEFAULT.claimable(grant, "ndx.population.v1.Citizen", [field]):
            body = {"citizen_id": samples.citizen_id, "claim_mask": {"paths": [field]}}
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(system, agency, purpose, method, body)
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
            break
