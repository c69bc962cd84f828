"""The local stack for real: a Kafka broker and a PostgreSQL server provisioned from scratch."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ndx_cli.stack import postgres
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.postgres import ENV_URL, PostgresStack
from ndx_cli.stack.procs import StackError
from ndx_runtime.topics import TopicSpec, ensure_topics, topic_partitions

# The broker's jars are shared with the repository's own broker, so they are fetched only once.
SHARED_LIBS = Path(__file__).resolve().parents[2] / ".ndx" / "kafka" / "libs"


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports that nobody listens on right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture
def kafka_stack(tmp_path: Path) -> Iterator[KafkaStack]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip(
            "KAFKA_BOOTSTRAP_SERVERS is set: an existing cluster is used, none is provisioned"
        )
    port, controller_port = free_ports(2)
    stack = KafkaStack(tmp_path, port=port, controller_port=controller_port, libs=SHARED_LIBS)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def postgres_root() -> Iterator[Path]:
    if os.environ.get(ENV_URL):
        pytest.skip(f"{ENV_URL} is set: an existing server is used, none is provisioned")
    # Not under pytest's tmp_path: as root, the server runs as 'postgres', which must reach it.
    root = Path(tempfile.mkdtemp(prefix="ndx-pg-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def consume_one(bootstrap: str, topic: str, group: str) -> ConsumerRecord[bytes, bytes]:
    """The first record of a topic, read through a consumer group."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record: ConsumerRecord[bytes, bytes] = await asyncio.wait_for(consumer.getone(), 30)
        return record
    finally:
        await consumer.stop()


async def topic_config(bootstrap: str, topic: str, key: str) -> str | None:
    """One config value of a topic, as the broker reports it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        for _code, _message, _type, _name, entries in response.resources:
            for name, value, *_ in entries:
                if name == key:
                    return str(value)
        return None
    finally:
        await admin.close()


@pytest.mark.kafka
async def test_kafka_broker_from_maven_central(kafka_stack: KafkaStack) -> None:
    await asyncio.to_thread(kafka_stack.start)
    assert kafka_stack.is_running()
    await asyncio.to_thread(kafka_stack.start)  # already running: returns at once
    bootstrap = kafka_stack.bootstrap

    spec = TopicSpec("ndx.test.stack.v1", 6, {"cleanup.policy": "compact,delete"})
    await ensure_topics(bootstrap, [spec])
    await ensure_topics(bootstrap, [spec])  # exists: left alone
    assert await topic_partitions(bootstrap, spec.name) == 6
    assert await topic_partitions(bootstrap, "ndx.test.absent.v1") is None
    assert await topic_config(bootstrap, spec.name, "cleanup.policy") == "compact,delete"

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            spec.name, b"payload", key=b"citizen-1", headers=[("ce_id", b"e-1")]
        )
    finally:
        await producer.stop()

    record = await consume_one(bootstrap, spec.name, "ndx-stack-test")
    assert (record.key, record.value, record.partition, record.offset) == (
        b"citizen-1",
        b"payload",
        sent.partition,
        sent.offset,
    )
    assert list(record.headers) == [("ce_id", b"e-1")]

    # A crash keeps what was acknowledged: after kill -9 and a restart the record is still there.
    await asyncio.to_thread(kafka_stack.kill)
    assert not kafka_stack.is_running()
    await asyncio.to_thread(kafka_stack.start)
    again = await consume_one(bootstrap, spec.name, "ndx-stack-test-after-crash")
    assert (again.key, again.value, again.offset) == (b"citizen-1", b"payload", sent.offset)

    await asyncio.to_thread(kafka_stack.stop)
    assert not kafka_stack.is_running()


@pytest.mark.postgres
async def test_postgres_server_from_distribution_binaries(postgres_root: Path) -> None:
    [port] = free_ports(1)
    stack = PostgresStack(postgres_root, port)
    try:
        await asyncio.to_thread(stack.start)
        assert stack.is_running()
        await asyncio.to_thread(stack.start)  # already running: returns at once
        url = await asyncio.to_thread(stack.create_database, "ndx_stack_test")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/ndx_stack_test"
        assert await asyncio.to_thread(stack.create_database, "ndx_stack_test") == url

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await conn.fetchval("select 1") == 1
            assert await conn.fetchval("select current_database()") == "ndx_stack_test"
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(stack.stop)
    assert not stack.is_running()


def test_kafka_without_java_or_maven_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(StackError) as raised:
        KafkaStack(tmp_path).provision()
    message = str(raised.value)
    assert "Java 17+ and Maven not found" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message


def test_postgres_without_binaries_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    with pytest.raises(StackError, match="Debian package 'postgresql'"):
        postgres.find_binaries()
