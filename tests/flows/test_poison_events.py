"""Poison records on the citizen topic: each registry dead-letters them and goes on, and a
dead letter fixed by an operator is re-driven with `ndx events record` / `replay`."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaError
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import Connection

from ndx.business.v1 import events_pb2 as business_events
from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2, events_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_business.adapters.tables import inbox as business_inbox
from ndx_land.adapters.tables import inbox as land_inbox
from ndx_population.subscribers import SOURCE
from ndx_runtime.consumer import ERROR_HEADER, GROUP_HEADER
from ndx_runtime.envelope import header
from ndx_runtime.inbox import applied_versions
from ndx_runtime.kafka import create_producer, read_topic

from ..faults import figures
from .conftest import Exchange
from .test_citizen_events import (
    enterprise,
    eventually,
    rename,
    representative,
    sole_representatives,
)

V1 = events_pb2.CitizenChanged.DESCRIPTOR.full_name
V2 = "ndx.population.v2.CitizenChanged"

Record = tuple[str | None, bytes, list[tuple[str, bytes]]]


async def renamed_event(exchange: Exchange, citizen_id: str, full_name: str) -> bytes:
    """A well-formed rename of the citizen, one version past the registry's."""
    stub = exchange.population_stub()
    citizen = await stub.GetCitizen(ppb.GetCitizenRequest(citizen_id=citizen_id))
    event = events_pb2.CitizenChanged(
        citizen_id=citizen_id,
        op=types_pb2.CHANGE_OP_UPDATE,
        after=citizen_pb2.Citizen(citizen_id=citizen_id, full_name=full_name),
        changed_fields=FieldMask(paths=["full_name"]),
        version=citizen.version + 1,
    )
    event.change_time.GetCurrentTime()
    return event.SerializeToString()


async def produce(exchange: Exchange, records: list[Record]) -> None:
    producer = create_producer(exchange.population.settings.kafka_bootstrap_servers, "test")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(
                exchange.citizen_topic,
                value,
                key=key.encode() if key is not None else None,
                headers=headers,
            )
    finally:
        await producer.stop()


async def applied(exchange: Exchange, citizen_id: str) -> tuple[int, int]:
    """The citizen's version applied by business and by land (0: none)."""

    def business(c: Connection) -> int:
        return int(applied_versions(c, business_inbox, SOURCE, {citizen_id}).get(citizen_id, 0))

    def land(c: Connection) -> int:
        return int(applied_versions(c, land_inbox, SOURCE, {citizen_id}).get(citizen_id, 0))

    return await exchange.business.db.read(business), await exchange.land.db.read(land)


def groups(exchange: Exchange) -> list[str]:
    return sorted(c.group_id for s in (exchange.business, exchange.land) for c in s.consumers)


async def test_each_kind_of_poison_is_dead_lettered_and_the_next_change_applied(
    exchange: Exchange,
) -> None:
    [(code, citizen_id), (_, other_id)] = await sole_representatives(exchange, 2)
    good = await renamed_event(exchange, other_id, "Lê Thị Không Đến")
    typed = [("ce_type", V1.encode())]
    other_type = business_events.EnterpriseChanged.DESCRIPTOR.full_name
    poison: dict[str, tuple[Record, str]] = {
        "another entity's event": (
            (
                citizen_id,
                business_events.EnterpriseChanged().SerializeToString(),
                [("ce_type", other_type.encode())],
            ),
            f"PoisonRecord: unexpected event type {other_type!r}",
        ),
        "corrupted bytes": (
            (citizen_id, b"\x0a\xff not protobuf", typed),
            f"PoisonRecord: not a {V1}",
        ),
        "an unknown schema version": (
            (other_id, good, [("ce_type", V2.encode())]),
            f"PoisonRecord: unexpected event type {V2!r}",
        ),
        "no headers": ((other_id, good, []), "PoisonRecord: no ce_type header"),
        "another citizen's key": (
            (citizen_id, good, typed),
            f"PoisonRecord: key {citizen_id!r} is not the citizen id {other_id!r}",
        ),
        "no citizen id": (
            (citizen_id, events_pb2.CitizenChanged(version=1).SerializeToString(), typed),
            "PoisonRecord: CitizenChanged without citizen_id, version or op",
        ),
    }
    await produce(exchange, [record for record, _ in poison.values()])
    # A record without a key never reaches the (compacted) topic: the broker refuses it.
    with pytest.raises(KafkaError):
        await produce(exchange, [(None, good, typed)])
    await rename(exchange, citizen_id, "Đỗ Văn Sau")

    async def renamed() -> bool:
        rep = representative(await enterprise(exchange, code), citizen_id)
        return rep.full_name == "Đỗ Văn Sau"

    await eventually(renamed)
    bootstrap = exchange.population.settings.kafka_bootstrap_servers
    letters = await read_topic(bootstrap, f"{exchange.citizen_topic}.dlq", at_least=2 * len(poison))
    by_group: dict[str, list[str]] = {}
    for letter in letters:
        group = header(list(letter.headers), GROUP_HEADER) or ""
        by_group.setdefault(group, []).append(header(list(letter.headers), ERROR_HEADER) or "")
    assert sorted(by_group) == groups(exchange)
    for group, errors in by_group.items():
        assert len(errors) == len(poison), (group, errors)
        # Records of different citizens sit on different partitions: letters in any order.
        for _, expected in poison.values():
            assert sum(e.startswith(expected) for e in errors) == 1, (group, expected, errors)
    # The valid change after the poison reached both registries; the poisoned citizen's
    # rename, under a wrong type, key or no headers, reached neither.
    citizen = await exchange.population_stub().GetCitizen(
        ppb.GetCitizenRequest(citizen_id=citizen_id)
    )

    async def both_applied() -> bool:
        return await applied(exchange, citizen_id) == (citizen.version, citizen.version)

    await eventually(both_applied)
    assert await applied(exchange, other_id) == (0, 0)
    figures.record(
        "poison-events",
        broken="records on the citizen topic that no registry can apply",
        checked=(
            "each registry's consumer group dead-letters every poison record once, with the "
            "reason in a header, and applies the valid change that follows; a fixed dead "
            "letter is re-driven with `ndx events record` / `ndx events replay --map` "
            "(tests/flows/test_poison_events.py)"
        ),
        poison_records=len(poison),
        consumer_groups=len(by_group),
        dead_lettered=sum(len(errors) for errors in by_group.values()),
        kinds={
            kind: {"dead-letter reason": re.sub(r"\d{12}", "<citizen id>", reason)}
            for kind, (_, reason) in poison.items()
        },
        next_change_applied=True,
        refused_by_the_broker="a record without a key (compacted topic)",
    )


async def ndx(*args: str) -> tuple[int, str]:
    """Runs the `ndx` command as an operator would; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ndx_cli.main",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace")


async def test_a_fixed_dead_letter_is_re_driven_and_applied(
    exchange: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(code, citizen_id)] = await sole_representatives(exchange, 1)
    bootstrap = exchange.population.settings.kafka_bootstrap_servers
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    topic, dlq = exchange.citizen_topic, f"{exchange.citizen_topic}.dlq"
    event = await renamed_event(exchange, citizen_id, "Trần Thị Gửi Lại")
    # A producer released too early stamps the next schema version on a v1 event.
    await produce(exchange, [(citizen_id, event, [("ce_type", V2.encode())])])
    await read_topic(bootstrap, dlq, at_least=2)
    assert await applied(exchange, citizen_id) == (0, 0)

    letters = tmp_path / "dlq.ndjson"
    status, output = await ndx("events", "record", dlq, "-o", str(letters), "--type", V2, "-q")
    assert status == 0, output
    lines = [orjson.loads(line) for line in letters.read_bytes().splitlines()]
    assert len(lines) == 2  # one letter per registry's group
    # The fix: the type the producer should have stamped.
    for line in lines:
        line["headers"] = [[k, V1 if k == "ce_type" else v] for k, v in line["headers"]]
    letters.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    status, output = await ndx("events", "replay", str(letters), "--map", f"{dlq}={topic}", "-q")
    assert status == 0, output

    async def renamed() -> bool:
        rep = representative(await enterprise(exchange, code), citizen_id)
        return rep.full_name == "Trần Thị Gửi Lại"

    await eventually(renamed)
    version = events_pb2.CitizenChanged.FromString(event).version
    # Both letters went back; the second copy is skipped as already applied, by both.

    async def both_applied() -> bool:
        return await applied(exchange, citizen_id) == (version, version)

    await eventually(both_applied)
    assert len(await read_topic(bootstrap, dlq, at_least=2)) == 2  # nothing dead-lettered again
