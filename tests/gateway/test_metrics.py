"""The gateway's /metrics, scraped over HTTP: calls by method and code, access decisions by
agency and purpose, audit records, feed deliveries, and no citizen or officer id."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from .conftest import System
from .feeds import POLICE, follow, update_citizen
from .support import GET_CITIZEN, citizen_ids

UPDATE_CITIZEN = "ndx.population.v1.PopulationService/UpdateCitizen"
OFFICER = "hcm-tax-4711"
POPULATION = "ndx.population.v1.PopulationService"


def port(system: System) -> int:
    server = system.gateway.metrics_server
    assert server is not None, "the gateway of these tests serves metrics on a free port"
    return server.port


async def changes(system: System, scrape: Any, act: Any) -> tuple[Any, Any]:
    """The scrapes before and after `act()`: other tests of the module count too."""
    before = await scrape(port(system))
    await act()
    return before, await scrape(port(system))


async def test_allowed_and_denied_calls_are_counted(system: System, scrape: Any) -> None:
    [cid] = await citizen_ids(system, 1)
    tax = system.agency("tax-authority")
    request = {"citizen_id": cid}

    async def calls() -> None:
        await tax.call(GET_CITIZEN, request, purpose="tax-registration", officer=OFFICER)
        for method, body, purpose in (
            (GET_CITIZEN, request, "no-such-purpose"),
            (UPDATE_CITIZEN, {}, "tax-registration"),  # a method the purpose does not grant
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await tax.call(method, body, purpose=purpose, officer=OFFICER)
            assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED

    before, after = await changes(system, scrape, calls)

    def rose(name: str, **labels: str) -> float:
        return float(after.value(name, **labels) - before.value(name, **labels))

    decisions = "ndx_gateway_policy_decisions_total"
    tax_registration = {"agency": "tax-authority", "purpose": "tax-registration"}
    assert rose(decisions, decision="allow", **tax_registration) == 1
    assert rose(decisions, decision="deny", **tax_registration) == 1
    assert rose(decisions, agency="tax-authority", purpose="other", decision="deny") == 1
    handled = "ndx_grpc_server_handled_total"
    for method, code, times in (
        ("GetCitizen", "OK", 1),
        ("GetCitizen", "PERMISSION_DENIED", 1),
        ("UpdateCitizen", "PERMISSION_DENIED", 1),
    ):
        labels = {"grpc_service": POPULATION, "grpc_method": method, "grpc_code": code}
        assert rose(handled, **labels) == times, labels
    seconds = {"grpc_service": POPULATION, "grpc_method": "GetCitizen"}
    assert rose("ndx_grpc_server_handling_seconds_count", **seconds) == 2
    audit_topic = system.gateway.settings.audit_topic
    assert rose("ndx_events_published_total", topic=audit_topic) == 3
    assert after.value("ndx_gateway_audit_write_failures_total") == 0
    for secret in (cid, OFFICER, "no-such-purpose"):
        assert secret not in after.text


async def test_feed_deliveries_are_counted_by_aggregate_and_agency(
    system: System, scrape: Any
) -> None:
    [cid] = await citizen_ids(system, 1)
    police = system.agency(POLICE[0])
    delivered = {"aggregate": "citizen", "agency": POLICE[0]}
    ended = {
        "grpc_service": "ndx.gateway.v1.FeedService",
        "grpc_method": "Subscribe",
        "grpc_code": "CANCELLED",
    }
    before = await scrape(port(system))
    feed = await follow(police, "citizen", POLICE[1])
    try:
        await update_citizen(system, cid, email="metrics@example.vn")
        await feed.until(lambda events: any(e.subject == cid for e in events))
        following = await scrape(port(system))
    finally:
        feed.cancel()
    assert following.value("ndx_gateway_open_feeds") == 1
    rose = following.value("ndx_gateway_feed_events_delivered_total", **delivered)
    assert rose - before.value("ndx_gateway_feed_events_delivered_total", **delivered) >= 1

    async with asyncio.timeout(10):
        while True:
            after = await scrape(port(system))
            if after.value("ndx_grpc_server_handled_total", **ended) > before.value(
                "ndx_grpc_server_handled_total", **ended
            ):
                break
            await asyncio.sleep(0.05)
    assert after.value("ndx_gateway_open_feeds") == 0
    assert cid not in after.text
