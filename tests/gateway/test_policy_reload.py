"""The policy file changes while the gateway runs: a valid policy takes effect without a
restart, an invalid one is refused and the old one stays; quotas run out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from ..faults import figures
from .conftest import System
from .support import GET_CITIZEN, citizen_ids, detail_of, error_info, rows


def edit(system: System, change: Callable[[dict[str, Any]], None], version: str) -> None:
    document = yaml.safe_load(system.policy_file.read_text())
    change(document)
    document["version"] = version
    system.policy_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def religious_citizen(system: System) -> str:
    [(cid,)] = await rows(
        system, "population", "select citizen_id from citizens where religion != '' limit 1"
    )
    return str(cid)


@pytest.fixture(scope="module")
def refused() -> Iterator[dict[str, str]]:
    """The policy files refused in this module, recorded for the reliability report."""
    with figures.cases(
        "policy-files",
        broken="the running gateway's policy file replaced by a bad one",
        checked=(
            "the file is refused with its location (file:line:column or the path in the "
            "document), the policy in force stays, and calls go on being answered under it"
        ),
    ) as seen:
        yield seen


async def refused_with_old_policy_in_force(system: System, in_force: str, says: str) -> str:
    """Waits for the gateway to refuse the file it was given; checks the old policy still
    answers; returns the refusal."""
    await until(lambda: says in (system.gateway.policy.last_error or ""))
    assert system.gateway.policy.current.version == in_force
    [cid] = await citizen_ids(system, 1)
    response, _ = await system.agency("tax-authority").call(
        GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration"
    )
    assert response.citizen_id == cid  # type: ignore[attr-defined]
    return system.gateway.policy.last_error or ""


async def test_a_changed_policy_takes_effect_without_restart(system: System) -> None:
    cid = await religious_citizen(system)
    tax = system.agency("tax-authority")
    before, trailers = await tax.call(GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration")
    assert not before.religion  # type: ignore[attr-defined]
    assert "ndx.population.v1.Citizen.religion" in trailers["x-ndx-redacted"]

    def grant_religion(document: dict[str, Any]) -> None:
        purpose = document["agencies"]["tax-authority"]["purposes"]["tax-registration"]
        purpose["read"].append("ndx.population.v1.Citizen.religion")

    edit(system, grant_religion, "reload-1")
    await until(lambda: system.gateway.policy.current.version == "reload-1")
    after, trailers = await tax.call(GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration")
    assert after.religion  # type: ignore[attr-defined]
    assert "ndx.population.v1.Citizen.religion" not in trailers.get("x-ndx-redacted", "")


async def test_an_invalid_policy_is_refused_and_the_old_one_stays(
    system: System, refused: dict[str, str]
) -> None:
    in_force = system.gateway.policy.current.version
    good = system.policy_file.read_text()

    def unknown_field(document: dict[str, Any]) -> None:
        purpose = document["agencies"]["tax-authority"]["purposes"]["tax-registration"]
        purpose["read"].append("ndx.population.v1.Citizen.shoe_size")

    edit(system, unknown_field, "broken-1")
    error = await refused_with_old_policy_in_force(system, in_force, "shoe_size")
    assert "agencies.tax-authority.purposes.tax-registration.read" in error
    refused["a field the contract does not have"] = "refused, naming the path in the document"
    system.policy_file.write_text("version: [unclosed")
    await until(lambda: "shoe_size" not in (system.gateway.policy.last_error or "shoe_size"))
    assert system.gateway.policy.current.version == in_force
    assert f"{system.policy_file}:1:" in (system.gateway.policy.last_error or "")
    refused["malformed YAML"] = "refused, naming file:line:column"
    system.policy_file.write_text(good)


@pytest.mark.parametrize(
    ("case", "change", "says"),
    [
        (
            "conflicting rules: a field both read and only verified",
            {"verify": ["ndx.population.v1.Citizen.full_name"]},
            "ndx.population.v1.Citizen.full_name is also granted by read",
        ),
        (
            "a write granted to an agency that does not own it",
            {"methods": ["ndx.population.v1.PopulationService/RecordDeath"]},
            "RecordDeath writes; only the owner 'police' may",
        ),
        ("an unknown key", {"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
async def test_a_conflicting_or_unknown_rule_is_refused_and_the_old_policy_stays(
    system: System, refused: dict[str, str], case: str, change: dict[str, Any], says: str
) -> None:
    in_force = system.gateway.policy.current.version
    good = system.policy_file.read_text()

    def apply(document: dict[str, Any]) -> None:
        document["agencies"]["tax-authority"]["purposes"]["tax-registration"].update(change)

    edit(system, apply, f"broken-{case[:8]}")
    try:
        error = await refused_with_old_policy_in_force(system, in_force, says)
        assert "agencies.tax-authority.purposes.tax-registration" in error, error
    finally:
        system.policy_file.write_text(good)
        await until(lambda: system.gateway.policy.last_error is None)
    refused[case] = "refused, naming the path in the document"


async def test_a_purpose_written_twice_is_refused_and_the_old_policy_stays(
    system: System, refused: dict[str, str]
) -> None:
    in_force = system.gateway.policy.current.version
    good = system.policy_file.read_text()
    lines = good.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "tax-registration:")
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    # A second block for the purpose, written above the first: plain YAML would keep only
    # the last one, and the agency would silently lose what the first granted.
    twice = [
        *lines[:at],
        f"{indent}tax-registration:\n",
        f"{indent}  description: a second block\n",
        *lines[at:],
    ]
    system.policy_file.write_text("".join(twice))
    error = await refused_with_old_policy_in_force(system, in_force, "written twice")
    assert f"{system.policy_file}:{at + 3}:" in error and "'tax-registration'" in error
    refused["a purpose written twice"] = "refused, naming file:line:column"
    system.policy_file.write_text(good)


async def test_a_used_up_quota_is_resource_exhausted_with_retry_info(system: System) -> None:
    def small_quota(document: dict[str, Any]) -> None:
        purpose = document["agencies"]["health-records"]["purposes"]["e-health-book"]
        purpose["quota"] = {"requests": 3, "per_seconds": 600}

    edit(system, small_quota, "quota-1")
    await until(lambda: system.gateway.policy.current.version == "quota-1")
    [cid] = await citizen_ids(system, 1)
    health = system.agency("health-records")
    for _ in range(3):
        await health.call(GET_CITIZEN, {"citizen_id": cid}, purpose="e-health-book")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.call(GET_CITIZEN, {"citizen_id": cid}, purpose="e-health-book")
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = detail_of(caught.value, error_details_pb2.RetryInfo)
    assert isinstance(retry, error_details_pb2.RetryInfo)
    assert isinstance(retry.retry_delay, duration_pb2.Duration)
    assert 100 < retry.retry_delay.ToTimedelta().total_seconds() <= 200  # one call per 200 s
    info = error_info(caught.value)
    assert info is not None and info.reason == "QUOTA_EXHAUSTED"
    # Another agency's quota is its own.
    await system.agency("tax-authority").call(
        GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration"
    )
