"""The in-flight ceiling per registry service: slots taken and given back, refusals counted,
and the status a refused caller gets."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from ndx_gateway.metrics import GatewayMetrics
from ndx_gateway.policy import DEFAULT_POLICY
from ndx_gateway.policy_source import PolicySource
from ndx_gateway.upstream_limit import InFlightLimit, upstream_busy

from ndx_runtime.contracts import load_contracts
from ndx_runtime.metrics import Metrics

LAND = "ndx.land.v1.LandService"
POPULATION = "ndx.population.v1.PopulationService"


def test_calls_beyond_the_limit_are_refused_until_one_ends() -> None:
    refused: list[str] = []
    limit = InFlightLimit(3, refused.append)
    assert [limit.enter(LAND) for _ in range(5)] == [True, True, True, False, False]
    assert limit.in_flight(LAND) == 3
    assert refused == [LAND, LAND]
    limit.leave(LAND)
    assert limit.in_flight(LAND) == 2
    assert limit.enter(LAND)
    assert not limit.enter(LAND)


def test_a_full_registry_takes_no_slot_of_another() -> None:
    limit = InFlightLimit(2)
    assert limit.enter(LAND) and limit.enter(LAND) and not limit.enter(LAND)
    assert all(limit.enter(POPULATION) for _ in range(2))
    assert limit.in_flight(POPULATION) == 2
    assert limit.in_flight("ndx.business.v1.BusinessRegistryService") == 0


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlightLimit(0)


def test_the_refusal_says_which_registry_and_when_to_retry() -> None:
    status = upstream_busy(LAND, 64)
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert LAND in status.details and "64" in status.details
    [raw] = [v for k, v in status.trailing_metadata if k == "grpc-status-details-bin"]
    details = {d.TypeName(): d for d in status_pb2.Status.FromString(raw).details}
    info = error_details_pb2.ErrorInfo()
    details["google.rpc.ErrorInfo"].Unpack(info)
    assert info.reason == "UPSTREAM_BUSY"
    assert dict(info.metadata) == {"upstream": LAND, "max_in_flight": "64"}
    retry = error_details_pb2.RetryInfo()
    details["google.rpc.RetryInfo"].Unpack(retry)
    assert retry.retry_delay.seconds == 1
    assert "google.rpc.QuotaFailure" in details


def test_metrics_count_refusals_and_show_calls_in_flight() -> None:
    metrics = Metrics()
    counted = GatewayMetrics(metrics, PolicySource(DEFAULT_POLICY, load_contracts()), "audit")
    limit = InFlightLimit(1, counted.upstream_busy)
    counted.follow_in_flight(limit, [LAND, POPULATION])
    assert limit.enter(LAND) and not limit.enter(LAND) and not limit.enter(LAND)

    def sample(name: str, upstream: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"upstream": upstream})

    assert sample("ndx_gateway_upstream_in_flight", LAND) == 1
    assert sample("ndx_gateway_upstream_in_flight", POPULATION) == 0
    assert sample("ndx_gateway_upstream_busy_refusals_total", LAND) == 2
    limit.leave(LAND)
    assert sample("ndx_gateway_upstream_in_flight", LAND) == 0
