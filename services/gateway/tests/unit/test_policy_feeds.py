"""The policy's feed keys: registries name their aggregate and change event, purposes list the
feeds they follow; both are checked against the contracts when the policy loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ndx_gateway.policy import DEFAULT_POLICY, FEED_METHOD, Policy, PolicyError, load_policy

from ndx_runtime.contracts import load_contracts

POOL = load_contracts()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY, POOL)


def write(tmp_path: Path, edit: Any) -> Path:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, edit: Any) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, edit), POOL)
    return caught.value.problems


def tax(document: dict[str, Any]) -> dict[str, Any]:
    return document["agencies"]["tax-authority"]["purposes"]["tax-registration"]  # type: ignore[no-any-return]


def test_the_default_policy_names_the_three_feeds(policy: Policy) -> None:
    assert {a: (f.resource, f.event, f.key) for a, f in policy.feeds.items()} == {
        "citizen": ("ndx.population.v1.Citizen", "ndx.population.v1.CitizenChanged", "citizen_id"),
        "parcel": ("ndx.land.v1.Parcel", "ndx.land.v1.ParcelChanged", "parcel_id"),
        "enterprise": (
            "ndx.business.v1.Enterprise",
            "ndx.business.v1.EnterpriseChanged",
            "enterprise_code",
        ),
    }


def test_a_feed_is_granted_only_by_a_purpose_that_lists_it(policy: Policy) -> None:
    granted = policy.decide_feed("tax-authority", "tax-registration", "citizen")
    assert granted.allowed
    assert granted.rule == "agencies.tax-authority.purposes.tax-registration.feeds"
    assert FEED_METHOD in granted.grant.methods  # type: ignore[union-attr]
    other = policy.decide_feed("tax-authority", "tax-registration", "parcel")
    assert not other.allowed and other.code == "FEED_NOT_GRANTED"
    assert "it follows: citizen" in other.reason
    bank = policy.decide_feed("bank-ekyc", "ekyc", "citizen")
    assert not bank.allowed and bank.code == "FEED_NOT_GRANTED"
    assert not policy.decide("bank-ekyc", "ekyc", FEED_METHOD).allowed
    assert policy.decide_feed("nobody", "ekyc", "citizen").code == "UNKNOWN_AGENCY"
    assert policy.decide_feed("bank-ekyc", "lending", "citizen").code == "UNKNOWN_PURPOSE"


def _bad_event(name: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        document["registries"]["population"]["event"] = name

    return edit


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda d: tax(d).update(feeds=["citizens"]),
            "agencies.tax-authority.purposes.tax-registration.feeds[0]: unknown aggregate "
            "'citizens' (known: citizen, enterprise, parcel)",
        ),
        (
            lambda d: tax(d).update(read=["ndx.population.v1.Citizen.full_name"]),
            "tax-registration.feeds[0]: a feed of citizen needs "
            "ndx.population.v1.Citizen.citizen_id in read",
        ),
        (
            _bad_event("ndx.population.v1.CitizenChange"),
            "registries.population.event: unknown message 'ndx.population.v1.CitizenChange'",
        ),
        (
            _bad_event("ndx.land.v1.ParcelChanged"),
            "registries.population.event: ndx.land.v1.ParcelChanged is not a change event of "
            "ndx.population.v1.Citizen",
        ),
        (
            lambda d: d["registries"]["population"].pop("event"),
            "registries.population: a feed needs both `aggregate` and `event`",
        ),
        (
            lambda d: d["registries"]["land"].update(aggregate="citizen"),
            "aggregate: 'citizen' is named twice",
        ),
        (
            lambda d: d["registries"]["business"].update(
                aggregate="parcel", event="ndx.land.v1.ParcelChanged", resource="ndx.land.v1.Parcel"
            ),
            "aggregate: 'parcel' is named twice",
        ),
    ],
)
def test_a_bad_feed_is_refused_naming_the_place(tmp_path: Path, edit: Any, problem: str) -> None:
    problems = problems_of(tmp_path, edit)
    assert any(problem in p for p in problems), problems


def test_a_registry_without_a_feed_has_none(tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        for key in ("aggregate", "event"):
            document["registries"]["land"].pop(key)
        document["agencies"]["land-office"]["purposes"]["land-registration"].pop("feeds")

    loaded = load_policy(write(tmp_path, edit), POOL)
    assert set(loaded.feeds) == {"citizen", "enterprise"}
