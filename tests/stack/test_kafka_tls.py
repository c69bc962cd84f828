"""Kafka over TLS with client certificates, as a Strimzi listener with `authentication: tls`
asks for it: a broker of its own with the local stack's SSL listener, and NDX's clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from ndx.population.v1 import citizen_pb2, events_pb2, population_service_pb2_grpc
from ndx.population.v1 import population_service_pb2 as pb
from ndx_cli.stack.certs import issue, new_authority
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.procs import free_port
from ndx_population.bootstrap import start
from ndx_population.config import PopulationSettings
from ndx_runtime.consumer import Delivery, EventConsumer
from ndx_runtime.kafka import create_producer, read_topic
from ndx_runtime.kafka_connection import KafkaConnection
from ndx_runtime.kafka_probe import KafkaUnreachable
from ndx_runtime.tls import Identity, channel_credentials
from ndx_runtime.topics import TopicSpec, ensure_topics, topic_partitions

pytestmark = pytest.mark.kafka

STATE = Path(__file__).parents[2] / ".ndx"
CLIENT = Identity("service", "population")


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaStack]:
    """A broker of its own (the shared one may predate the SSL listener), on free ports."""
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    port, controller_port, ssl_port = sorted(ports)
    stack = KafkaStack(
        tmp_path_factory.mktemp("tls-kafka"),
        port=port,
        controller_port=controller_port,
        ssl_port=ssl_port,
        libs=STATE / "kafka" / "libs",
        heap="256m",
    )
    stack.start(timeout=120)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(tls_broker: KafkaStack) -> KafkaConnection:
    """The SSL listener, with a client certificate of the broker's CA."""
    tls_broker.pki.ensure([CLIENT])
    return KafkaConnection(
        bootstrap_servers=tls_broker.ssl_bootstrap,
        security_protocol="SSL",
        ssl_ca_file=tls_broker.pki.ca_file,
        ssl_cert_file=tls_broker.pki.cert_file(CLIENT),
        ssl_key_file=tls_broker.pki.key_file(CLIENT),
    )


async def test_producer_consumers_and_admin_over_tls(client: KafkaConnection, unique: str) -> None:
    topic = f"test.{unique}.tls"
    await ensure_topics(client, [TopicSpec(topic, 2)])
    assert await topic_partitions(client, topic) == 2

    producer = create_producer(client, "test-tls")  # idempotent, acks=all
    await producer.start()
    try:
        for i in range(4):
            await producer.send_and_wait(topic, f"v{i}".encode(), key=f"k{i}".encode())
    finally:
        await producer.stop()
    records = await read_topic(client, topic, at_least=4)
    assert sorted(r.value for r in records if r.value) == [b"v0", b"v1", b"v2", b"v3"]

    # A consumer group (FastStream) over the same listener.
    seen: list[bytes] = []
    all_seen = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.value or b"")
        if len(seen) == 4:
            all_seen.set()

    consumer = EventConsumer(client, topic, f"g-{unique}", handle)
    await consumer.start()
    try:
        await asyncio.wait_for(all_seen.wait(), 60)
    finally:
        await consumer.stop()
    assert sorted(seen) == [b"v0", b"v1", b"v2", b"v3"]


def _pem_files(folder: Path, cert: bytes, key: bytes) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user.crt").write_bytes(cert)
    (folder / "user.key").write_bytes(key)
    return folder / "user.crt", folder / "user.key"


async def test_without_a_client_certificate_the_broker_refuses(
    client: KafkaConnection, unique: str
) -> None:
    anonymous = client.model_copy(update={"ssl_cert_file": None, "ssl_key_file": None})
    with pytest.raises(KafkaUnreachable) as refused:
        await ensure_topics(anonymous, [TopicSpec(f"test.{unique}.anonymous", 1)])
    assert "requires a client certificate" in str(refused.value)
    assert "set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE" in str(refused.value)


async def test_a_certificate_of_another_ca_is_refused(
    client: KafkaConnection, tmp_path: Path
) -> None:
    cert, key = _pem_files(tmp_path, *issue(CLIENT, new_authority("Other CA")))
    stranger = client.model_copy(update={"ssl_cert_file": cert, "ssl_key_file": key})
    with pytest.raises(KafkaUnreachable, match="refused the client certificate"):
        await topic_partitions(stranger, "anything")


async def test_a_broker_certificate_of_another_ca_is_not_trusted(
    client: KafkaConnection, tmp_path: Path
) -> None:
    other = new_authority("Other CA")
    (tmp_path / "ca.crt").write_bytes(other.cert.public_bytes(serialization.Encoding.PEM))
    wary = client.model_copy(update={"ssl_ca_file": tmp_path / "ca.crt"})
    with pytest.raises(KafkaUnreachable, match="does not verify against KAFKA_SSL_CA_FILE"):
        await topic_partitions(wary, "anything")


async def test_a_registry_publishes_its_events_through_tls(
    client: KafkaConnection, tls_broker: KafkaStack, pki: Path, tmp_path: Path, unique: str
) -> None:
    settings = PopulationSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'population.db'}",
        kafka_bootstrap_servers=client.bootstrap_servers,
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=client.ssl_ca_file,
        kafka_ssl_cert_file=client.ssl_cert_file,
        kafka_ssl_key_file=client.ssl_key_file,
        grpc_port=0,
        tls_cert_file=pki / "population.crt",
        tls_key_file=pki / "population.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"operator/ndx-admin"}),
        citizen_topic=f"test.{unique}.population.citizen.v1",
        outbox_poll_seconds=0.1,
        shutdown_grace_seconds=2,
    )
    assert settings.kafka.bootstrap_servers == tls_broker.ssl_bootstrap
    service = await start(settings)
    try:
        creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
        async with grpc.aio.secure_channel(f"127.0.0.1:{service.host.port}", creds) as channel:
            stub = population_service_pb2_grpc.PopulationServiceStub(channel)
            created = await stub.RegisterCitizen(pb.RegisterCitizenRequest(citizen=citizen()))
        [record] = await read_topic(client, settings.citizen_topic, at_least=1)
    finally:
        await service.stop()
    event = events_pb2.CitizenChanged.FromString(record.value or b"")
    assert record.key == created.citizen_id.encode()
    assert event.after.full_name == "Trần Văn Minh" and event.version == 1


def citizen() -> citizen_pb2.Citizen:
    c = citizen_pb2.Citizen(
        citizen_id="001090054321",
        full_name="Trần Văn Minh",
        gender=citizen_pb2.GENDER_MALE,
        ethnicity="Kinh",
        marital_status=citizen_pb2.MARITAL_STATUS_SINGLE,
    )
    c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day = 1990, 5, 2
    c.permanent_address.ward_code = "00004"
    c.permanent_address.street = "Số 3 phố Kim Mã"
    return c


def test_the_broker_config_keeps_its_private_key_to_itself(tls_broker: KafkaStack) -> None:
    assert tls_broker.config.stat().st_mode & 0o077 == 0
    assert "ssl.client.auth=required" in tls_broker.config.read_text()
