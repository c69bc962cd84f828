"""`ndx audit verify`: real hash chains stored as the gateway stores them, then tampered with."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ndx_gateway.audit.chain import AuditChain
from ndx_gateway.tracker.index import AuditIndex, metadata, records
from sqlalchemy import delete, update

from ndx.gateway.v1 import audit_pb2
from ndx_cli.main import cli
from ndx_runtime.consumer import Delivery
from ndx_runtime.db import Database, create_schema
from ndx_runtime.kafka import create_producer
from ndx_runtime.topics import TopicSpec, ensure_topics

CHAINS = ("gw-a/0001", "gw-b/0002")
FIGURES = Path(__file__).resolve().parents[3] / "tests" / "faults" / "figures.py"


@pytest.fixture(scope="module")
def detected() -> Iterator[dict[str, str]]:
    """The tamperings detected in this module, recorded for the reliability report."""
    spec = importlib.util.spec_from_file_location("ndx_reliability_figures", FIGURES)
    assert spec is not None and spec.loader is not None
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    with figures.cases(
        "audit-tampering",
        broken="sealed audit chains, stored as the gateway stores them, then tampered with",
        checked="`ndx audit verify` exits 1 and names the chain and record of each tampering; "
        "untouched chains verify",
    ) as seen:
        yield seen


PER_CHAIN = 6


def sealed_chain(chain_id: str, n: int) -> list[bytes]:
    """`n` records sealed by the gateway's own chain, as published."""
    chain = AuditChain(chain_id)
    out = []
    for i in range(n):
        record = audit_pb2.AuditRecord(
            agency="tax-authority",
            officer=f"officer-{i}",
            purpose="tax-registration",
            method="ndx.population.v1.PopulationService/GetCitizen",
            subjects=[audit_pb2.Subject(kind="citizen", id=f"00119001234{i}")],
            fields_returned=["ndx.population.v1.Citizen.full_name"],
            decision=audit_pb2.DECISION_ALLOW,
            status="OK",
        )
        record.time.FromSeconds(1_760_000_000 + i)
        out.append(chain.seal(record))
    return out


async def store(url: str) -> None:
    """The records of every chain, stored through the index's own consumer handler, the two
    chains interleaved as they would arrive from two partitions."""
    db = Database.from_url(url)
    try:
        await create_schema(db.engine, metadata)
        index = AuditIndex(db)
        chains = [sealed_chain(c, PER_CHAIN) for c in CHAINS]
        for offset in range(PER_CHAIN):
            await index.apply(
                [
                    Delivery("audit", p, offset, CHAINS[p], chain[offset], [])
                    for p, chain in enumerate(chains)
                ]
            )
    finally:
        await db.dispose()


async def change(url: str, statement: object) -> None:
    db = Database.from_url(url)
    try:
        async with db.write_lock:
            conn = await db.connect_for_write()
            await conn.begin()
            await conn.execute(statement)  # type: ignore[arg-type]
            await conn.commit()
            await conn.close()
    finally:
        await db.dispose()


async def stored_record(url: str, chain_id: str, sequence: int) -> audit_pb2.AuditRecord:
    db = Database.from_url(url)
    try:
        data = await db.read(
            lambda c: c.execute(
                records.select().where(
                    records.c.chain_id == chain_id, records.c.sequence == sequence
                )
            ).one()
        )
    finally:
        await db.dispose()
    return audit_pb2.AuditRecord.FromString(data.record)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["audit", "verify", *args])


@pytest.fixture
def index_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    asyncio.run(store(url))
    return url


def rewrite(index_url: str, chain_id: str, sequence: int, record: audit_pb2.AuditRecord) -> None:
    """Stores `record` in place of the index's record `sequence` of `chain_id`."""
    asyncio.run(
        change(
            index_url,
            update(records)
            .where(records.c.chain_id == chain_id, records.c.sequence == sequence)
            .values(record=record.SerializeToString(deterministic=True)),
        )
    )


def broken_links(result: Result) -> list[str]:
    """The broken links `ndx audit verify` named, one line each."""
    return [line.strip() for line in result.output.splitlines() if line.startswith("  chain")]


def test_an_intact_index_verifies(index_url: str) -> None:
    result = run("--database-url", index_url)
    assert result.exit_code == 0, result.output
    assert f"checked {len(CHAINS) * PER_CHAIN} records in {len(CHAINS)} chains" in result.output
    assert "intact" in result.output


def test_an_edited_record_is_named(index_url: str, detected: dict[str, str]) -> None:
    chain_id, sequence = CHAINS[1], 3
    record = asyncio.run(stored_record(index_url, chain_id, sequence))
    record.officer = "somebody-else"
    rewrite(index_url, chain_id, sequence, record)
    result = run("--database-url", index_url)
    assert result.exit_code == 1, result.output
    assert broken_links(result) == [
        f"chain {chain_id} record {sequence}: altered: its hash does not match the one "
        f"record {sequence + 1} holds"
    ]
    detected["a record edited in the index"] = "named: altered"


def test_a_removed_record_is_reported_missing(index_url: str, detected: dict[str, str]) -> None:
    chain_id, sequence = CHAINS[0], 2
    asyncio.run(
        change(
            index_url,
            delete(records).where(records.c.chain_id == chain_id, records.c.sequence == sequence),
        )
    )
    result = run("--database-url", index_url)
    assert result.exit_code == 1, result.output
    assert f"chain {chain_id} record {sequence}: missing" in result.output
    assert CHAINS[1] not in result.output  # the other chain holds
    detected["a record deleted from the index"] = "named: missing"


def test_nothing_to_read_is_a_usage_error(tmp_path: Path) -> None:
    absent = run("--database-url", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert absent.exit_code == 2
    assert "no audit index at" in absent.output
    assert not (tmp_path / "none.db").exists()  # looking did not create it
    both = run("--database-url", "sqlite+aiosqlite:///x.db", "--from-kafka")
    assert both.exit_code == 2 and "exclude each other" in both.output
    topic = run("--topic", "t")
    assert topic.exit_code == 2 and "--from-kafka" in topic.output


def test_the_default_index_is_the_one_ndx_up_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.setenv("NDX_HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    asyncio.run(store(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gateway.db'}"))
    result = run()
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "data" / "gateway.db") in result.output


async def produce(bootstrap: str, topic: str, values: list[tuple[str, bytes]]) -> None:
    await ensure_topics(bootstrap, [TopicSpec(topic, 3, {})])
    producer = create_producer(bootstrap, "test-audit")
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


async def test_the_audit_topic_itself_verifies(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, detected: dict[str, str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    good, forged = f"test.{unique}.audit", f"test.{unique}.audit-forged"
    chains = {c: sealed_chain(c, PER_CHAIN) for c in CHAINS}
    await produce(kafka_bootstrap, good, [(c, v) for c, vs in chains.items() for v in vs])
    # A forger rewrites record 4 of one chain before it is published.
    record = audit_pb2.AuditRecord.FromString(chains[CHAINS[0]][4])
    record.fields_returned.append("ndx.population.v1.Citizen.religion")
    chains[CHAINS[0]][4] = record.SerializeToString(deterministic=True)
    await produce(kafka_bootstrap, forged, [(c, v) for c, vs in chains.items() for v in vs])

    ok = await asyncio.to_thread(run, "--from-kafka", "--topic", good)
    assert ok.exit_code == 0, ok.output
    assert f"checked {len(CHAINS) * PER_CHAIN} records in {len(CHAINS)} chains" in ok.output
    bad = await asyncio.to_thread(run, "--from-kafka", "--topic", forged)
    assert bad.exit_code == 1, bad.output
    assert f"chain {CHAINS[0]} record 4: altered" in bad.output
    detected["a record rewritten before it reached the audit topic"] = "named: altered"
    absent = await asyncio.to_thread(run, "--from-kafka", "--topic", f"test.{unique}.none")
    assert absent.exit_code == 2 and "does not exist" in absent.output


def test_two_swapped_records_in_the_index_are_named(
    index_url: str, detected: dict[str, str]
) -> None:
    chain_id = CHAINS[0]
    second, third = (asyncio.run(stored_record(index_url, chain_id, s)) for s in (2, 3))
    for sequence, record in ((2, third), (3, second)):
        rewrite(index_url, chain_id, sequence, record)
    result = run("--database-url", index_url)
    assert result.exit_code == 1, result.output
    assert broken_links(result) == [
        f"chain {chain_id} record 2: missing (the chain jumps from 1 to 3)"
    ]
    detected["two records swapped in the index"] = "named: missing (the chain jumps)"


async def test_records_removed_reordered_or_repeated_on_the_topic_are_named(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, detected: dict[str, str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    chains = {c: sealed_chain(c, PER_CHAIN) for c in CHAINS}
    a, b = chains[CHAINS[0]], chains[CHAINS[1]]
    cases = {
        # record 3 of the first chain never reaches the topic
        "removed": ([*a[:3], *a[4:]], b, f"chain {CHAINS[0]} record 3: missing"),
        # records 1 and 2 of the second chain trade places
        "swapped": (a, [b[0], b[2], b[1], *b[3:]], f"chain {CHAINS[1]} record 1: missing"),
        # record 2 of the first chain is published again after record 4
        "repeated": (
            [*a[:5], a[2], a[5]],
            b,
            f"chain {CHAINS[0]} record 2: out of order or repeated after record 4",
        ),
    }
    for name, (first, other, problem) in cases.items():
        topic = f"test.{unique}.audit-{name}"
        values = [(CHAINS[0], v) for v in first] + [(CHAINS[1], v) for v in other]
        await produce(kafka_bootstrap, topic, values)
        result = await asyncio.to_thread(run, "--from-kafka", "--topic", topic)
        assert result.exit_code == 1, (name, result.output)
        # One broken link, in the tampered chain only; the other chain holds.
        broken = broken_links(result)
        assert len(broken) == 1 and broken[0].startswith(problem), (name, result.output)
        detected[f"a record {name} on the audit topic"] = "named: " + problem.split(": ")[1]
