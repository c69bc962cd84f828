"""`ndx events scenario`: life events through the write APIs, on the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from ndx.business.v1 import events_pb2 as business_events
from ndx.common.v1 import types_pb2
from ndx.gateway.v1 import audit_pb2
from ndx.land.v1 import events_pb2 as land_events
from ndx.population.v1 import events_pb2 as population_events
from ndx_cli.exchange import start_exchange
from ndx_cli.scenario import ScenarioSummary, exchange_targets, run_scenario
from ndx_runtime.kafka import read_topic

from .conftest import SIZES, Exchange

# Enough starting data for the sizes below, loaded in a few hundred list calls.
CAPS = {"population": 1_000, "land": 200, "business": 200}
CREATE = types_pb2.CHANGE_OP_CREATE

Changes = dict[str, list[tuple[str, ...]]]


async def scenario(
    exchange: Exchange, name: str, count: int, via: str = "direct"
) -> ScenarioSummary:
    return await run_scenario(
        name, seed=11, count=count, targets=exchange_targets(exchange, via), caps=CAPS
    )


def topic(exchange: Exchange, registry: str) -> str:
    suffix = {"population": "population.citizen", "land": "land.parcel"}
    return f"{exchange.prefix}.{suffix.get(registry, 'business.enterprise')}.v1"


async def changes(exchange: Exchange, registry: str, at_least: int) -> Changes:
    """Per entity, the changed fields of each of its events, in order."""
    kind = {
        "population": population_events.CitizenChanged,
        "land": land_events.ParcelChanged,
        "business": business_events.EnterpriseChanged,
    }[registry]
    records = await read_topic(
        exchange.population.settings.kafka_bootstrap_servers,
        topic(exchange, registry),
        at_least=at_least,
        timeout=30,
        quiet=2.0,  # the mirrors' own events follow the population's
    )
    out: Changes = defaultdict(list)
    for record in records:
        if record.value is None:
            continue
        event = kind.FromString(record.value)
        out[record.key.decode()].append(
            ("create",) if event.op == CREATE else tuple(event.changed_fields.paths)
        )
    return out


def fields(found: Changes) -> Counter[str]:
    return Counter(f for seq in found.values() for change in seq for f in change)


async def test_life_registers_births_and_updates_citizens(exchange: Exchange) -> None:
    summary = await scenario(exchange, "life", 60)

    assert summary.refusals == []
    assert summary.succeeded == summary.sent == 60
    assert set(summary.events) == {"birth", "marriage", "move", "rename", "death"}
    found = await changes(exchange, "population", 60)
    assert sum(map(len, found.values())) == 60
    births = [cid for cid, seq in found.items() if seq[0] == ("create",)]
    assert len(births) == summary.calls["RegisterCitizen"] == summary.events["birth"]
    seen = fields(found)
    # A marriage updates both spouses; a move re-homes the mover; a death is its own change.
    assert seen["spouse_id"] >= 2 * summary.events["marriage"]
    assert seen["household_id"] >= summary.events["move"]
    assert seen["full_name"] == summary.events["rename"]
    assert seen["date_of_death"] == summary.events["death"]
    assert set(found) == summary.touched["population"]

    # The same seed again, on the data the first run changed: other newborns' ids, no refusal.
    again = await scenario(exchange, "life", 30)
    assert again.refusals == []
    assert again.digest != summary.digest


async def test_land_and_business_scenarios_emit_their_events(exchange: Exchange) -> None:
    land = await scenario(exchange, "land", 40)
    business = await scenario(exchange, "business", 40)

    assert land.refusals == business.refusals == []
    parcels = await changes(exchange, "land", 40)
    assert sum(map(len, parcels.values())) == 40
    seen = fields(parcels)
    assert seen["holders"] == land.events["transfer"] > 0
    assert seen["mortgages"] == land.events["mortgage"] + land.events["release"] > 0
    enterprises = await changes(exchange, "business", 40)
    assert sum(map(len, enterprises.values())) == 40
    seen = fields(enterprises)
    registered = [code for code, seq in enterprises.items() if seq[0] == ("create",)]
    assert len(registered) == business.events["register"] > 0
    assert seen["legal_status"] == business.events["status"] > 0
    assert seen["legal_representatives"] >= business.events["representative"] > 0
    assert seen["head_office"] >= business.events["relocate"]


async def test_the_same_seed_sends_the_same_changes(
    exchange: Exchange, tmp_path: Path, kafka_bootstrap: str, pki: Path
) -> None:
    twin = await start_exchange(
        tmp_path / "twin", kafka_bootstrap, pki, f"test.{uuid.uuid4().hex[:10]}", sizes=SIZES
    )
    try:
        first = await scenario(exchange, "mixed", 150)
        second = await scenario(twin, "mixed", 150)
        assert first.refusals == second.refusals == []
        assert first.digest == second.digest
        assert first.events == second.events
        registries = ("population", "land", "business")
        reads = [
            changes(ex, registry, len(first.touched[registry]))
            for registry in registries
            for ex in (exchange, twin)
        ]
        found = await asyncio.gather(*reads)
        for i, registry in enumerate(registries):
            assert found[2 * i] == found[2 * i + 1], registry
    finally:
        await twin.stop()


async def test_through_the_gateway_as_the_owner_agencies(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> None:
    exchange = await start_exchange(
        tmp_path, kafka_bootstrap, pki, f"test.{unique}", sizes=SIZES, gateway=True
    )
    try:
        summary = await scenario(exchange, "mixed", 60, via="gateway")
        assert summary.refusals == []
        assert set(summary.touched) == {"population", "land", "business"}
        audit = await read_topic(
            kafka_bootstrap, f"{exchange.prefix}.gateway.audit.v1", at_least=60, timeout=30
        )
        writes = Counter(
            (r.agency, r.purpose, r.method.rpartition("/")[2])
            for r in map(audit_pb2.AuditRecord.FromString, (a.value for a in audit))
            if r.method.rpartition("/")[2] in summary.calls
        )
        by_agency = Counter[str]()
        for (agency, purpose, _), n in writes.items():
            by_agency[f"{agency}/{purpose}"] += n
        assert by_agency == {
            "police/population-management": sum(
                summary.calls[m] for m in ("RegisterCitizen", "UpdateCitizen", "RecordDeath")
            ),
            "land-office/land-registration": sum(
                n for m, n in summary.calls.items() if m.endswith(("Rights", "Mortgage"))
            ),
            "business-office/business-registration": sum(
                n for m, n in summary.calls.items() if "Enterprise" in m or "Legal" in m
            ),
        }
    finally:
        await exchange.stop()
