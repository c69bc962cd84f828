"""`ndx events record` and `ndx events replay` as a tester types them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndx_cli.main import cli
from ndx_runtime.kafka import create_producer, read_topic
from ndx_runtime.topics import TopicSpec, ensure_topics, topic_partitions


async def produce(bootstrap: str, topic: str, n: int) -> None:
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for i in range(n):
            key = f"00119000000{i % 3}".encode()
            await (await producer.send(topic, f"v{i}".encode(), key=key, headers=[("h", b"1")]))
    finally:
        await producer.stop()


@pytest.fixture
def runner(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    return CliRunner()


def test_record_then_replay(
    runner: CliRunner, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.cli"
    asyncio.run(ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)]))
    asyncio.run(produce(kafka_bootstrap, topic, 9))
    out = tmp_path / "events.ndjson.gz"

    result = runner.invoke(
        cli, ["events", "record", topic, "-o", str(out), "--key", "001190000001", "--from", "0"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"recorded 3 records (9 read) to {out} (")
    assert f"  {topic}: 3" in result.output

    result = runner.invoke(cli, ["events", "replay", str(out), "--topic-prefix", "t-", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{topic} -> t-{topic}: 3 records, 48 bytes; would be created with 2 partitions; "
        "same partition as recorded",
        "dry run: 3 records valid, nothing produced",
    ]
    assert asyncio.run(topic_partitions(kafka_bootstrap, f"t-{topic}")) is None

    result = runner.invoke(cli, ["events", "replay", str(out), "--map", f"{topic}=m-{topic}"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("replayed 3 records (48 bytes) in ")
    copied = asyncio.run(read_topic(kafka_bootstrap, f"m-{topic}", at_least=3))
    assert [r.value for r in copied] == [b"v1", b"v4", b"v7"]


def test_replay_errors_name_the_problem(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"topic": "t", "partition": 0}\n')
    result = runner.invoke(cli, ["events", "replay", str(bad)])
    assert result.exit_code == 1
    assert f"Error: {bad}:1: " in result.output

    result = runner.invoke(cli, ["events", "replay", str(bad), "--map", "nonsense"])
    assert result.exit_code == 2
    assert "expected OLD=NEW" in result.output

    result = runner.invoke(cli, ["events", "replay", str(bad), "--speed", "2", "--rate", "9"])
    assert result.exit_code == 1
    assert "not both" in result.output


def test_record_errors_name_the_problem(runner: CliRunner, unique: str, tmp_path: Path) -> None:
    out = str(tmp_path / "x.ndjson")
    result = runner.invoke(cli, ["events", "record", f"test.{unique}.none", "-o", out])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    result = runner.invoke(cli, ["events", "record", "t", "-o", out, "--from", "last week"])
    assert result.exit_code == 2
    assert "ISO-8601" in result.output
