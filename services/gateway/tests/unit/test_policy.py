"""The policy file: checked against the contracts, default deny, and responses cut to the
granted fields for every agency and purpose of the default policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from google.protobuf.message import Message
from ndx_gateway.policy import DEFAULT_POLICY, FieldSet, Policy, PolicyError, load_policy, project

from ndx.business.v1 import enterprise_pb2
from ndx.land.v1 import parcel_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_runtime.contracts import load_contracts

POOL = load_contracts()
GET_CITIZEN = "ndx.population.v1.PopulationService/GetCitizen"
SENSITIVE = {"religion", "ethnicity", "blood_type", "father_id", "mother_id", "spouse_id"}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY, POOL)


def full(cls: type[Message]) -> Message:
    """A message with every scalar, enum and nested message field set, lists with one item."""
    message = cls()
    for fd in message.DESCRIPTOR.fields:
        if fd.message_type is not None:
            if fd.message_type.full_name.startswith("google.protobuf."):
                getattr(message, fd.name).SetInParent()
                continue
            sub = full_of(fd.message_type)
            if fd.is_repeated:
                getattr(message, fd.name).add().CopyFrom(sub)
            else:
                getattr(message, fd.name).CopyFrom(sub)
        elif fd.is_repeated:
            getattr(message, fd.name).append(_scalar(fd))
        else:
            setattr(message, fd.name, _scalar(fd))
    return message


def full_of(descriptor: object) -> Message:
    from google.protobuf import message_factory

    return full(message_factory.GetMessageClass(descriptor))  # type: ignore[arg-type]


def _scalar(fd: object) -> object:
    kind = fd.cpp_type  # type: ignore[attr-defined]
    if fd.enum_type is not None:  # type: ignore[attr-defined]
        return fd.enum_type.values[-1].number  # type: ignore[attr-defined]
    return {1: 7, 2: 7, 3: 7, 4: 7, 5: 1.5, 6: 1.5, 7: True, 9: "x"}.get(kind, "x")


def write(tmp_path: Path, change: dict[str, object]) -> Path:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    document["agencies"]["tax-authority"]["purposes"]["tax-registration"].update(change)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_the_default_policy_loads(policy: Policy) -> None:
    assert ("police", "population-management") in policy.grants
    assert len(policy.registries) == 3


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"read": ["ndx.population.v1.Citizen.fullname"]},
            "agencies.tax-authority.purposes.tax-registration.read[0]: "
            "ndx.population.v1.Citizen has no field 'fullname'",
        ),
        (
            {"read": ["ndx.population.v1.Citizen.permanent_address.zip"]},
            "has no field 'zip'",
        ),
        (
            {"methods": ["ndx.population.v1.PopulationService/GetCitizens"]},
            "methods[0]: ndx.population.v1.PopulationService has no method 'GetCitizens'",
        ),
        (
            {"methods": ["ndx.population.v1.PopulationService/RecordDeath"]},
            "RecordDeath writes; only the owner 'police' may",
        ),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        (
            {"verify": ["ndx.population.v1.Citizen.permanent_address.province_code"]},
            "agencies.tax-authority.purposes.tax-registration.verify[0]: "
            "ndx.population.v1.Citizen.permanent_address.province_code is also granted by read",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_the_place(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, change), POOL)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_malformed_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: '1'\nregistries: {}\nagencies: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, POOL)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:4:1: ")


def test_a_purpose_written_twice_is_refused_not_overwritten(tmp_path: Path) -> None:
    """Plain YAML keeps the last of two equal keys: the first block would vanish unseen."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip() == "tax-registration:")
    path = tmp_path / "policy.yaml"
    path.write_text(
        "".join(lines[:first])
        + "      tax-registration:\n        description: the first block\n"
        + "".join(lines[first:]),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path, POOL)
    assert caught.value.problems == [
        f"{path}:{first + 3}:7: 'tax-registration' is written twice in one mapping"
    ]


def test_default_deny(policy: Policy) -> None:
    assert not policy.decide("unknown", "tax-registration", GET_CITIZEN).allowed
    assert not policy.decide("tax-authority", "unknown", GET_CITIZEN).allowed
    denied = policy.decide("bank-ekyc", "ekyc", GET_CITIZEN)
    assert not denied.allowed and denied.rule == "agencies.bank-ekyc.purposes.ekyc"
    assert policy.decide("tax-authority", "tax-registration", GET_CITIZEN).allowed
    writes = "ndx.population.v1.PopulationService/UpdateCitizen"
    assert not policy.decide("tax-authority", "tax-registration", writes).allowed
    assert policy.decide("police", "population-management", writes).allowed


RESOURCES = {
    "ndx.population.v1.Citizen": citizen_pb2.Citizen,
    "ndx.land.v1.Parcel": parcel_pb2.Parcel,
    "ndx.business.v1.Enterprise": enterprise_pb2.Enterprise,
}


def test_every_grant_returns_exactly_its_fields(policy: Policy) -> None:
    """The whole matrix: every agency x purpose x resource of the default policy."""
    for (agency, purpose), grant in policy.grants.items():
        for resource, cls in RESOURCES.items():
            message = full(cls)
            removed = project(message, RESOURCES, grant.read)
            granted = grant.read.get(resource, FieldSet())
            kept = {fd.name for fd, _ in message.ListFields()}
            every = {fd.name for fd in cls.DESCRIPTOR.fields}
            expected = every if granted.everything else set(granted.fields) & every
            assert kept == expected, (agency, purpose, resource)
            assert {r.rsplit(".", 1)[1] for r in removed} == every - expected


def test_sensitive_fields_go_only_where_a_purpose_needs_them(policy: Policy) -> None:
    for (agency, _), grant in policy.grants.items():
        readable = grant.read.get("ndx.population.v1.Citizen", FieldSet())
        exposed = {f for f in SENSITIVE if readable.grants([f])}
        if agency == "police":
            assert exposed == SENSITIVE
        elif agency == "health-records":
            assert exposed == {"blood_type"}
        else:
            assert not exposed, agency


def test_lists_and_nested_fields_are_cut_too() -> None:
    grant = FieldSet()
    grant.add(["citizen_id"])
    grant.add(["permanent_address", "ward_code"])
    response = ppb.BatchGetCitizensResponse(missing_citizen_ids=["001"])
    for _ in range(2):
        response.citizens.add().CopyFrom(full(citizen_pb2.Citizen))
    removed = project(response, RESOURCES, {"ndx.population.v1.Citizen": grant})
    for citizen in response.citizens:
        assert citizen.citizen_id and not citizen.full_name
        assert citizen.permanent_address.ward_code and not citizen.permanent_address.street
    assert list(response.missing_citizen_ids) == ["001"]
    assert "ndx.population.v1.Citizen.permanent_address.street" in removed
    assert "ndx.population.v1.Citizen.religion" in removed


def test_verify_only_fields_can_be_claimed_not_read(policy: Policy) -> None:
    grant = policy.grants[("bank-ekyc", "ekyc")]
    citizen = "ndx.population.v1.Citizen"
    assert policy.claimable(grant, citizen, ["date_of_birth"])
    assert not policy.readable(grant, citizen).grants(["date_of_birth"])
    assert not policy.claimable(grant, citizen, ["religion"])


def test_a_field_set_that_changes_is_not_cut_by_its_earlier_plans() -> None:
    grant = FieldSet()
    grant.add(["citizen_id"])
    resources = ["ndx.population.v1.Citizen"]
    grants = {"ndx.population.v1.Citizen": grant}

    def fresh() -> citizen_pb2.Citizen:
        return citizen_pb2.Citizen(citizen_id="001190012345", full_name="Nguyễn Thị Lan")

    first, second = fresh(), fresh()
    assert project(first, resources, grants) == ["ndx.population.v1.Citizen.full_name"]
    assert project(second, resources, grants) == ["ndx.population.v1.Citizen.full_name"]
    assert not second.full_name
    grant.add(["full_name"])
    third = fresh()
    assert project(third, resources, grants) == []
    assert third.full_name == "Nguyễn Thị Lan"
