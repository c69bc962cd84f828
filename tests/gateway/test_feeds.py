"""Agencies' change feeds through the real gateway, for every agency and purpose of the default
policy: a granted feed carries only granted fields (before, after, changed fields), a change of
fields the grant cannot see is not delivered, every other feed is PERMISSION_DENIED, bad
requests name the field, and deliveries are audited where the citizen can see them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from ndx.common.v1 import types_pb2
from ndx.gateway.v1 import audit_pb2, data_tracker_pb2, feed_pb2
from ndx_runtime.grpc_errors import bad_request_fields

from .conftest import System
from .feeds import (
    POLICE,
    Feed,
    change_of,
    follow,
    open_call,
    refusal,
    release_mortgage,
    update_citizen,
    update_enterprise,
)
from .support import LIST_ACCESSES, error_info, rows
from .test_audit import audit_records
from .test_policy_matrix import DEFAULT, PAIRS, expected, granted_paths, leaves

FEED_METHOD = "ndx.gateway.v1.FeedService/Subscribe"
Key = tuple[str, str, str]  # agency, purpose, aggregate
ALLOWED: list[Key] = [
    (a, p, aggregate) for a, p in PAIRS for aggregate in sorted(DEFAULT.grants[(a, p)].feeds)
]
# The default policy grants parcel and enterprise feeds whole; citizen feeds differ.
CITIZEN_FEEDS = [key for key in ALLOWED if key[2] == "citizen"]
DENIED: list[Key] = [
    (a, p, aggregate)
    for a, p in PAIRS
    for aggregate in sorted(DEFAULT.feeds)
    if aggregate not in DEFAULT.grants[(a, p)].feeds
]
NEW_NAME = "Trần Thị Đổi Tên"


@dataclass
class Changes:
    """What was changed while every granted feed was open, and what each feed received."""

    feeds: dict[Key, Feed]
    citizen_id: str  # e-mail (police only), then address, then name changed
    version: int  # the citizen's version before the three changes
    parcel_id: str
    enterprise_code: str


def _done(events: list[feed_pb2.FeedEvent], subjects: set[str], version: int) -> bool:
    """Whether the feed has the last change of every subject (the name change for the
    citizen, the only change for the parcel and the enterprise)."""
    last = {e.subject: change_of(e).version for e in events}  # type: ignore[attr-defined]
    return all(s in last and (last[s] >= version or version == 0) for s in subjects)


@pytest.fixture(scope="module")
async def changes(system: System) -> AsyncIterator[Changes]:
    [(citizen_id, version, ward, province)] = await rows(
        system,
        "population",
        "select citizen_id, version, permanent_address_ward, permanent_address_province "
        "from citizens "
        "where date_of_death is null and religion != '' and email != '' "
        "order by citizen_id limit 1",
    )
    [(parcel_id,)] = await rows(
        system,
        "land",
        "select parcel_id from mortgages where release_date is null order by parcel_id limit 1",
    )
    [(code,)] = await rows(
        system, "business", "select enterprise_code from enterprises order by 1 limit 1"
    )
    feeds = {key: await follow(system.agency(key[0]), key[2], key[1]) for key in ALLOWED}
    cid = str(citizen_id)
    await update_citizen(system, cid, email="doi.email@example.vn")
    address = types_pb2.Address(province_code=str(province), ward_code=str(ward), street="Số 9")
    await update_citizen(system, cid, permanent_address=address)
    await update_citizen(system, cid, full_name=NEW_NAME)
    await release_mortgage(system, str(parcel_id))
    await update_enterprise(system, str(code), "ĐỔI TÊN NGẮN")
    targets = {"citizen": ({cid}, int(version) + 3), "parcel": ({str(parcel_id)}, 0)}
    targets["enterprise"] = ({str(code)}, 0)

    async def settle(key: Key, feed: Feed) -> None:
        subjects, last = targets[key[2]]
        await feed.until(lambda events: _done(events, subjects, last))

    await asyncio.gather(*(settle(k, f) for k, f in feeds.items()))
    try:
        yield Changes(feeds, cid, int(version), str(parcel_id), str(code))
    finally:
        for feed in feeds.values():
            feed.cancel()


def _resource(event: feed_pb2.FeedEvent) -> str:
    return DEFAULT.feeds[_aggregate(event)].resource


def _aggregate(event: feed_pb2.FeedEvent) -> str:
    return next(a for a, f in DEFAULT.feeds.items() if f.event == event.type)


def _allowed(path: str, grants: list[str]) -> bool:
    return any(g == "" or path == g or path.startswith(g + ".") for g in grants)


@pytest.mark.parametrize(("agency", "purpose", "aggregate"), ALLOWED)
async def test_a_feed_carries_exactly_the_granted_fields(
    changes: Changes, agency: str, purpose: str, aggregate: str
) -> None:
    events = changes.feeds[(agency, purpose, aggregate)].events
    assert events
    resource = DEFAULT.feeds[aggregate].resource
    grants = granted_paths(agency, purpose, resource)
    # The full view of each event, from a feed that reads the whole resource.
    full_key = next(
        k for k in ALLOWED if k[2] == aggregate and granted_paths(k[0], k[1], resource) == [""]
    )
    full = {e.event_id: change_of(e) for e in changes.feeds[full_key].events}
    for event in events:
        change = change_of(event)
        assert event.type == DEFAULT.feeds[aggregate].event
        assert event.subject == getattr(change, DEFAULT.feeds[aggregate].key)
        whole = full[event.event_id]
        for side in ("before", "after"):
            got: Message = getattr(change, side)
            assert all(_allowed(p, grants) for p in leaves(got)), (side, leaves(got))
            assert leaves(got) == expected(getattr(whole, side), grants), side
        paths = list(change.changed_fields.paths)  # type: ignore[attr-defined]
        assert paths and all(_allowed(p, grants) for p in paths), paths
        withheld = {p.removeprefix(resource + ".") for p in event.fields_redacted}
        assert not any(_allowed(p, grants) for p in withheld)
        assert withheld == {
            p.split(".")[0]
            for side in ("before", "after")
            for p in leaves(getattr(whole, side))
            if not _allowed(p, grants)
        }


@pytest.mark.parametrize(("agency", "purpose", "aggregate"), CITIZEN_FEEDS)
async def test_a_change_the_grant_cannot_see_is_not_delivered(
    changes: Changes, agency: str, purpose: str, aggregate: str
) -> None:
    mine = [
        change_of(e)
        for e in changes.feeds[(agency, purpose, aggregate)].events
        if e.subject == changes.citizen_id
    ]
    grants = granted_paths(agency, purpose, "ndx.population.v1.Citizen")
    # Which of the three changes (e-mail, permanent address, name) the grant can see.
    visible = [f for f in ("email", "permanent_address", "full_name") if _allowed(f, grants)]
    assert [list(c.changed_fields.paths) for c in mine] == [[f] for f in visible]  # type: ignore[attr-defined]
    assert [c.version for c in mine][-1] == changes.version + 3  # type: ignore[attr-defined]
    assert mine[-1].after.full_name == NEW_NAME  # type: ignore[attr-defined]
    if (agency, purpose) == POLICE:
        assert len(mine) == 3
    else:
        assert len(mine) < 3  # the e-mail change reaches the police only


@pytest.mark.parametrize(("agency", "purpose", "aggregate"), DENIED)
async def test_a_feed_the_purpose_does_not_grant_is_denied(
    system: System, agency: str, purpose: str, aggregate: str
) -> None:
    error = await refusal(open_call(system.agency(agency), aggregate, purpose))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(error)
    assert info is not None and info.reason == "FEED_NOT_GRANTED"
    assert info.metadata["rule"] == f"agencies.{agency}.purposes.{purpose}.feeds"
    assert info.metadata["method"] == FEED_METHOD


async def test_the_purpose_may_come_as_metadata_but_must_agree(system: System) -> None:
    tax = system.agency("tax-authority")
    feed = await follow(tax, "citizen", "", metadata=[("x-ndx-purpose", "tax-registration")])
    feed.cancel()
    error = await refusal(
        open_call(tax, "citizen", "tax-registration", metadata=[("x-ndx-purpose", "ekyc")])
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == {"purpose"}
    error = await refusal(open_call(tax, "citizen", None))
    assert bad_request_fields(error) == {"x-ndx-purpose"}
    error = await refusal(open_call(tax, "citizen", "tax-registration", officer=None))
    assert bad_request_fields(error) == {"x-ndx-officer"}


async def test_bad_requests_name_the_field(system: System) -> None:
    police = system.agency("police")
    purpose = POLICE[1]

    async def fields(**kwargs: object) -> set[str]:
        error = await refusal(open_call(police, purpose=purpose, **kwargs))  # type: ignore[arg-type]
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        return bad_request_fields(error)

    assert await fields(aggregate="person") == {"aggregate"}
    assert await fields(aggregate="citizen", cursor="not-a-cursor") == {"cursor"}
    assert await fields(aggregate="citizen", cursor="c1.bm9wZQ") == {"cursor"}
    parcels = await follow(system.agency("land-office"), "parcel", "land-registration")
    parcels.cancel()
    # A cursor of the parcel feed does not resume the citizen feed.
    assert await fields(aggregate="citizen", cursor=parcels.start) == {"cursor"}
    later = Timestamp(seconds=int(time.time()) + 3600)
    assert await fields(aggregate="citizen", start_time=later) == {"start_time"}


async def test_deliveries_are_audited_and_the_citizen_sees_them(
    system: System, changes: Changes
) -> None:
    tax = ("tax-authority", "tax-registration")
    await refusal(open_call(system.agency("bank-ekyc"), "citizen", "ekyc"))
    records = await audit_records(system, at_least=1)
    feeds = [r for r in records if r.method == FEED_METHOD]
    mine = [r for r in feeds if (r.agency, r.purpose) == tax]
    opened = [r for r in mine if not r.subjects and r.status == "OK"]
    delivered = [
        r for r in mine if ("citizen", changes.citizen_id) in {(s.kind, s.id) for s in r.subjects}
    ]
    assert opened and all(r.decision == audit_pb2.DECISION_ALLOW for r in opened)
    assert delivered, "no audit record names the citizen whose changes were delivered"
    returned = {f for r in delivered for f in r.fields_returned}
    assert "ndx.population.v1.Citizen.full_name" in returned
    assert "ndx.population.v1.Citizen.religion" not in returned
    assert "ndx.population.v1.Citizen.religion" in {f for r in delivered for f in r.fields_denied}
    assert all(r.status == "OK" and r.officer == "officer-007" for r in delivered)
    # Events are audited under the trace of the subscription that delivered them.
    assert {r.trace_id for r in delivered} <= {r.trace_id for r in opened}
    assert any(r.agency == "bank-ekyc" and r.decision == audit_pb2.DECISION_DENY for r in feeds)

    portal = system.agency("citizen-portal")
    request = data_tracker_pb2.ListAccessesRequest(citizen_id=changes.citizen_id)
    async with asyncio.timeout(20):
        while True:
            response, _ = await portal.call(LIST_ACCESSES, request, purpose="data-tracker")
            seen = [a for a in response.accesses if a.method == FEED_METHOD]  # type: ignore[attr-defined]
            if any((a.agency, a.purpose) == tax for a in seen):
                break
            await asyncio.sleep(0.2)
    access = next(a for a in seen if (a.agency, a.purpose) == tax)
    assert "ndx.population.v1.Citizen.full_name" in access.fields
    assert access.agency_name == "General Department of Taxation"
