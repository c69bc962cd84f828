"""Every call through the gateway, allowed or denied, leaves exactly one audit record; the
records form a hash chain that shows an edit; the data tracker lists a citizen's accesses."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import grpc
import pytest
from ndx_gateway.audit.chain import verify
from ndx_gateway.tracker.index import records as stored_records
from sqlalchemy import select, update

from ndx.gateway.v1 import audit_pb2, data_tracker_pb2
from ndx_runtime.kafka import read_topic

from .conftest import System
from .support import GET_CITIZEN, LIST_ACCESSES, VERIFY_CITIZEN, citizen_ids

DENY, ALLOW = audit_pb2.DECISION_DENY, audit_pb2.DECISION_ALLOW


async def audit_records(system: System, at_least: int) -> list[audit_pb2.AuditRecord]:
    records = await read_topic(
        system.exchange.population.settings.kafka_bootstrap_servers,
        system.gateway.settings.audit_topic,
        at_least=at_least,
    )
    return [audit_pb2.AuditRecord.FromString(r.value) for r in records if r.value]


async def make_calls(system: System, officer: str) -> dict[str, tuple[str, str]]:
    """One call of each kind; returns officer id -> (expected decision, expected status)."""
    [cid, other] = await citizen_ids(system, 2)
    tax, bank = system.agency("tax-authority"), system.agency("bank-ekyc")
    expected: dict[str, tuple[str, str]] = {}

    async def attempt(tag: str, agency: object, *args: object, **kwargs: object) -> None:
        who = f"{officer}-{tag}"
        with contextlib.suppress(grpc.aio.AioRpcError):
            await agency.call(*args, officer=who, **kwargs)  # type: ignore[attr-defined]
        expected[who] = tag.split(":")[1], tag.split(":")[2]

    await attempt("get:ALLOW:OK", tax, GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration")
    await attempt(
        "missing:ALLOW:NOT_FOUND",
        tax,
        GET_CITIZEN,
        {"citizen_id": "001099000001"},
        purpose="tax-registration",
    )
    await attempt(
        "bank-get:DENY:PERMISSION_DENIED", bank, GET_CITIZEN, {"citizen_id": cid}, purpose="ekyc"
    )
    await attempt(
        "mask:DENY:PERMISSION_DENIED",
        tax,
        GET_CITIZEN,
        {"citizen_id": other, "read_mask": {"paths": ["religion"]}},
        purpose="tax-registration",
    )
    await attempt(
        "verify:ALLOW:OK",
        bank,
        VERIFY_CITIZEN,
        {"citizen_id": other, "claim_mask": {"paths": ["full_name"]}, "claims": {"full_name": "X"}},
        purpose="ekyc",
    )
    await attempt(
        "no-purpose:DENY:INVALID_ARGUMENT", tax, GET_CITIZEN, {"citizen_id": cid}, purpose=None
    )
    return expected


async def test_every_call_leaves_exactly_one_record_and_the_chain_holds(system: System) -> None:
    officer = f"off-{uuid.uuid4().hex[:8]}"
    expected = await make_calls(system, officer)
    [cid, other] = await citizen_ids(system, 2)
    records = await audit_records(system, at_least=len(expected))
    mine = [r for r in records if r.officer.startswith(officer)]
    assert sorted(r.officer for r in mine) == sorted(expected)  # exactly one each
    for record in mine:
        decision, status = expected[record.officer]
        assert audit_pb2.Decision.Name(record.decision) == f"DECISION_{decision}"
        assert record.status == status
        assert record.time.seconds > 0 and len(record.trace_id) == 32
        assert record.policy_version or status == "INVALID_ARGUMENT"
    by_tag = {r.officer.removeprefix(officer + "-").split(":")[0]: r for r in mine}
    get = by_tag["get"]
    assert (get.agency, get.purpose, get.method) == (
        "tax-authority",
        "tax-registration",
        GET_CITIZEN,
    )
    assert ("citizen", cid) in {(s.kind, s.id) for s in get.subjects}
    assert "ndx.population.v1.Citizen.full_name" in get.fields_returned
    assert "ndx.population.v1.Citizen.ethnicity" in get.fields_denied
    assert list(by_tag["mask"].fields_denied) == ["ndx.population.v1.Citizen.religion"]
    assert by_tag["bank-get"].agency == "bank-ekyc"
    assert ("citizen", other) in {(s.kind, s.id) for s in by_tag["verify"].subjects}
    assert not by_tag["verify"].fields_returned
    report = verify(r.SerializeToString(deterministic=True) for r in records)
    assert report.intact, report.breaks
    assert report.records == len(records)


async def stored(system: System, at_least: int) -> list[tuple[str, int, bytes]]:
    """The gateway's index of the audit topic, once it holds `at_least` records."""
    db = system.gateway.db
    for _ in range(100):
        found = await db.read(
            lambda c: [
                (r[0], int(r[1]), bytes(r[2]))
                for r in c.execute(
                    select(
                        stored_records.c.chain_id,
                        stored_records.c.sequence,
                        stored_records.c.record,
                    ).order_by(stored_records.c.chain_id, stored_records.c.sequence)
                )
            ]
        )
        if len(found) >= at_least:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"the index holds {len(found)} records, not {at_least}")


async def test_editing_a_stored_record_breaks_the_chain_there(system: System) -> None:
    officer = f"off-{uuid.uuid4().hex[:8]}"
    calls = await make_calls(system, officer)
    records = await audit_records(system, at_least=len(calls))
    rows = await stored(system, at_least=len(records))
    assert verify(data for _, _, data in rows).intact
    chain, sequence, data = rows[len(rows) // 2]
    record = audit_pb2.AuditRecord.FromString(data)
    record.officer = "somebody-else"
    db = system.gateway.db
    async with db.write_lock:
        conn = await db.connect_for_write()
        await conn.begin()
        await conn.execute(
            update(stored_records)
            .where(stored_records.c.chain_id == chain, stored_records.c.sequence == sequence)
            .values(record=record.SerializeToString(deterministic=True))
        )
        await conn.commit()
        await conn.close()
    try:
        report = verify(d for _, _, d in await stored(system, at_least=len(rows)))
        assert not report.intact
        assert report.breaks is not None
        [broken] = report.breaks
        assert (broken.chain_id, broken.sequence) == (chain, sequence)
        assert "altered" in broken.problem
    finally:
        async with db.write_lock:
            conn = await db.connect_for_write()
            await conn.begin()
            await conn.execute(
                update(stored_records)
                .where(stored_records.c.chain_id == chain, stored_records.c.sequence == sequence)
                .values(record=data)
            )
            await conn.commit()
            await conn.close()


async def test_the_data_tracker_shows_who_read_a_citizen(system: System) -> None:
    [cid, _] = await citizen_ids(system, 2)
    officer = f"off-{uuid.uuid4().hex[:8]}"
    await system.agency("health-records").call(
        GET_CITIZEN, {"citizen_id": cid}, purpose="e-health-book", officer=officer
    )
    portal = system.agency("citizen-portal")
    for _ in range(100):
        response, _ = await portal.call(
            LIST_ACCESSES, {"citizen_id": cid, "page_size": 1000}, purpose="data-tracker"
        )
        assert isinstance(response, data_tracker_pb2.ListAccessesResponse)
        mine = [a for a in response.accesses if a.officer == officer]
        if mine:
            break
        await asyncio.sleep(0.1)
    [access] = mine
    assert access.agency == "health-records"
    assert access.agency_name.startswith("Ministry of Health")
    assert access.purpose == "e-health-book"
    assert access.method == GET_CITIZEN
    assert "ndx.population.v1.Citizen.blood_type" in access.fields
    assert "ndx.population.v1.Citizen.religion" not in access.fields
    assert access.decision == ALLOW and access.status == "OK"
    times = [a.time.ToNanoseconds() for a in response.accesses]
    assert times == sorted(times, reverse=True)


async def test_the_data_tracker_pages_and_checks_its_input(system: System) -> None:
    [cid, _] = await citizen_ids(system, 2)
    tax = system.agency("tax-authority")
    for _ in range(3):
        await tax.call(GET_CITIZEN, {"citizen_id": cid}, purpose="tax-registration")
    portal = system.agency("citizen-portal")
    seen: list[tuple[str, int]] = []
    token = ""
    for _ in range(100):
        response, _ = await portal.call(
            LIST_ACCESSES,
            {"citizen_id": cid, "page_size": 2, "page_token": token},
            purpose="data-tracker",
        )
        seen += [(a.chain_id, a.sequence) for a in response.accesses]  # type: ignore[attr-defined]
        token = response.next_page_token  # type: ignore[attr-defined]
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await portal.call(LIST_ACCESSES, {"citizen_id": "12"}, purpose="data-tracker")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_only_the_citizen_portal_may_list_accesses(system: System) -> None:
    [cid, _] = await citizen_ids(system, 2)
    for agency, purpose in (
        ("police", "population-management"),
        ("tax-authority", "tax-registration"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await system.agency(agency).call(LIST_ACCESSES, {"citizen_id": cid}, purpose=purpose)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
