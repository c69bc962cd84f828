"""docs/asyncapi/<service>.yaml: each service's topics as AsyncAPI 3.0 (`ndx docs`).

FastStream writes the documents from brokers declaring what each service sends and receives:
the consumers are the services' own (the same constructors they run with), the publishers are
declared here, because the services produce through the outbox relay, not FastStream. Topic
names, partitions, configs and group ids come from the settings' defaults; headers from the
code that writes them; message descriptions from the .proto files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from google.protobuf.message import Message
from ndx_gateway.audit.log import audit_headers
from ndx_gateway.bootstrap import audit_topic, tracker_consumer
from ndx_gateway.config import GatewaySettings

from ndx.business.v1 import events_pb2 as business_events
from ndx.gateway.v1 import audit_pb2
from ndx.land.v1 import events_pb2 as land_events
from ndx.population.v1 import events_pb2 as population_events
from ndx_business.config import BusinessSettings
from ndx_business.service_layer.unit_of_work import BusinessUnitOfWork
from ndx_land.config import LandSettings
from ndx_land.service_layer.unit_of_work import LandUnitOfWork
from ndx_population.config import PopulationSettings
from ndx_population.service_layer.unit_of_work import PopulationUnitOfWork
from ndx_population.subscribers import citizen_consumer
from ndx_runtime.consumer import (
    ERROR_HEADER,
    GROUP_HEADER,
    SOURCE_HEADER,
    Delivery,
    EventConsumer,
    dead_letter_spec,
)
from ndx_runtime.envelope import Headers, change_event
from ndx_runtime.kafka_tracing import TRACE_HEADERS
from ndx_runtime.topics import TopicSpec, entity_topic

BINDING_VERSION = "0.4.0"

HEADER_DOCS = {
    "ce_specversion": "CloudEvents specification version.",
    "ce_id": "Event id, unique for its source.",
    "ce_source": "The registry that produced the event.",
    "ce_type": "Full name of the protobuf message in the value.",
    "ce_time": "When the entity changed (RFC 3339, UTC).",
    "ce_subject": "The entity's id, as in the key.",
    "content-type": "Encoding of the value.",
    "traceparent": "W3C trace context of the span that sent the record (absent when untraced).",
    "tracestate": "W3C trace state, when the trace has one.",
    ERROR_HEADER: "Why the record could not be handled: exception type and message.",
    SOURCE_HEADER: "Where the record was: topic/partition/offset.",
    GROUP_HEADER: "The consumer group that could not handle it.",
}
# Header values the same on every record: documented as constants.
_CONSTANT = {"ce_specversion", "ce_source", "ce_type", "content-type"}


@dataclass(frozen=True)
class Stream:
    """A change-event topic and what is in it."""

    spec: TopicSpec
    message: type[Message]
    key: str  # what the key is
    headers: Headers  # a sample record's headers
    sent: str  # how records are sent


def _change_stream(
    settings: PopulationSettings | LandSettings | BusinessSettings,
    topic: str,
    message: type[Message],
    key: str,
    source: str,
) -> Stream:
    sample = change_event(topic, message(), key="k", source=source)
    headers = [*sample.headers, *((h, b"") for h in TRACE_HEADERS)]
    spec = entity_topic(topic, settings.topic_partitions)
    sent = (
        f"Every committed change of the {settings.service_name} registry, sent by its outbox "
        "relay: idempotent producer, at least once, in commit order per key."
    )
    return Stream(spec, message, key, headers, sent)


def streams() -> dict[str, Stream]:
    """The registries' change topics and the gateway's audit topic, by topic name."""
    population = PopulationSettings.model_construct()
    land = LandSettings.model_construct()
    business = BusinessSettings.model_construct()
    gateway = GatewaySettings.model_construct()
    record = audit_pb2.AuditRecord(sequence=1)
    found = [
        _change_stream(
            population,
            population.citizen_topic,
            population_events.CitizenChanged,
            "The citizen's id (citizen_id)",
            PopulationUnitOfWork.source,
        ),
        _change_stream(
            land,
            land.parcel_topic,
            land_events.ParcelChanged,
            "The parcel's id (parcel_id)",
            LandUnitOfWork.source,
        ),
        _change_stream(
            business,
            business.enterprise_topic,
            business_events.EnterpriseChanged,
            "The enterprise's code (enterprise_code)",
            BusinessUnitOfWork.source,
        ),
        Stream(
            audit_topic(gateway),
            audit_pb2.AuditRecord,
            "The chain id of the gateway process that wrote the record",
            audit_headers("chain", record),
            "One record per access decision (allowed or denied), hash-chained to the one "
            "before; the call is answered only once Kafka has it (acks=all).",
        ),
    ]
    return {s.spec.name: s for s in found}


async def _ignore(_: list[Delivery]) -> None:
    """Stands in for a consumer's handler: documents are generated, nothing is consumed."""


@dataclass
class Document:
    """One service's document: its broker (FastStream) and what only NDX knows about it."""

    name: str
    title: str
    description: str
    broker: KafkaBroker
    sends: list[str]
    groups: dict[str, str]  # channel title -> consumer group


def _consumer(document: Document, consumer: EventConsumer) -> None:
    """Adds a consumer group and its dead-letter topic to the document."""
    document.groups[f"{consumer.topic}:{consumer.group_id}"] = consumer.group_id
    document.broker.publisher(
        consumer.dlq_topic,
        title=f"{consumer.dlq_topic}:{consumer.group_id}",
        description=f"Records of {consumer.topic} that group {consumer.group_id} can never "
        "handle (undecodable, unknown type, refused by the rules), with the error; the "
        "consumer goes on.",
    )


def _publishes(document: Document, stream: Stream) -> None:
    document.sends.append(stream.spec.name)
    document.broker.publisher(
        stream.spec.name,
        title=f"{stream.spec.name}:send",
        description=stream.sent,
    )


def documents() -> list[Document]:
    """Every service's document, with its brokers declared."""
    topics = streams()
    population = PopulationSettings.model_construct()
    gateway = GatewaySettings.model_construct()
    docs = []
    broker = KafkaBroker(population.kafka_bootstrap_servers, logger=None)
    docs.append(
        Document(
            "population",
            "NDX population registry",
            "Citizens' change events. Nothing is consumed.",
            broker,
            [],
            {},
        )
    )
    _publishes(docs[-1], topics[population.citizen_topic])
    for name, title, settings, topic in (
        ("land", "NDX land registry", LandSettings.model_construct(), "parcel_topic"),
        (
            "business",
            "NDX business registry",
            BusinessSettings.model_construct(),
            "enterprise_topic",
        ),
    ):
        consumer = citizen_consumer(settings, _ignore)
        document = Document(
            name,
            title,
            f"Its change events; and the citizens' events, applied to the {name} registry's "
            "mirrors of citizens (names, deaths) by its own consumer group.",
            consumer.broker,
            [],
            {},
        )
        _publishes(document, topics[str(getattr(settings, topic))])
        _consumer(document, consumer)
        docs.append(document)
    tracker = tracker_consumer(gateway, _ignore)
    document = Document(
        "gateway",
        "NDX gateway",
        "Audit records (one per decision, hash-chained), indexed for the data tracker by the "
        "gateway's own group; and the registries' change topics, read for agencies' feeds.",
        tracker.broker,
        [],
        {},
    )
    _publishes(document, topics[gateway.audit_topic])
    _consumer(document, tracker)
    for aggregate, topic in gateway.feed_topics.items():
        tracker.broker.subscriber(
            topic,
            title=f"{topic}:feeds",
            description=f"Agencies' {aggregate} feeds (FeedService/Subscribe) read this topic by "
            "partition, without a consumer group, from a cursor or a time; each event is cut "
            "to the purpose's read grant and audited before it is sent.",
        )(_ignore_one)
    docs.append(document)
    return docs


async def _ignore_one(_: bytes) -> None:
    """Stands in for a feed's reader."""


def _proto_comment(root: Path, message: type[Message]) -> str:
    """The comment above the message in its .proto file."""
    path = root / "proto" / message.DESCRIPTOR.file.name
    lines = path.read_text().splitlines()
    pattern = re.compile(rf"^message {message.DESCRIPTOR.name}\s*\{{")
    at = next(i for i, line in enumerate(lines) if pattern.match(line))
    comment: list[str] = []
    for line in reversed(lines[:at]):
        if not line.startswith("//"):
            break
        comment.insert(0, line.removeprefix("//").strip())
    return " ".join(comment)


def _headers_schema(headers: Headers, optional: set[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, value in headers:
        if name not in HEADER_DOCS:
            raise LookupError(f"header {name!r} is not documented: add it to HEADER_DOCS")
        schema: dict[str, Any] = {"type": "string", "description": HEADER_DOCS[name]}
        if name in _CONSTANT:
            schema["const"] = value.decode()
        properties[name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [n for n in properties if n not in optional],
    }


def _message(root: Path, stream: Stream, dead_letter: str | None = None) -> dict[str, Any]:
    full_name = stream.message.DESCRIPTOR.full_name
    proto = f"proto/{stream.message.DESCRIPTOR.file.name}"
    headers = list(stream.headers)
    description = _proto_comment(root, stream.message)
    if stream.message is not audit_pb2.AuditRecord:
        description += " A delete is followed by a tombstone: the same key, no value, no headers."
    if dead_letter is not None:
        headers += [(h, b"") for h in (ERROR_HEADER, SOURCE_HEADER, GROUP_HEADER)]
        description = f"A record of {stream.spec.name} as it was, with the error. {description}"
    return {
        "name": full_name,
        "title": stream.message.DESCRIPTOR.name,
        "summary": f"Protobuf {full_name}, defined in {proto}.",
        "description": description,
        "contentType": "application/protobuf",
        "headers": _headers_schema(headers, optional=set(TRACE_HEADERS)),
        "payload": {
            "type": "string",
            "format": "binary",
            "description": f"{full_name} ([{proto}](../../{proto})), protobuf binary encoding.",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"{stream.key}: one key, one partition, records in order.",
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
        "x-protobuf": {"message": full_name, "file": proto},
    }


def _topic_binding(spec: TopicSpec) -> dict[str, Any]:
    binding: dict[str, Any] = {"topic": spec.name, "partitions": spec.partitions}
    configuration: dict[str, Any] = {}
    if "cleanup.policy" in spec.configs:
        configuration["cleanup.policy"] = spec.configs["cleanup.policy"].split(",")
    for name in ("retention.ms", "retention.bytes"):
        if name in spec.configs:
            configuration[name] = int(spec.configs[name])
    if configuration:
        binding["topicConfiguration"] = configuration
    binding["bindingVersion"] = BINDING_VERSION
    return binding


def render(root: Path, document: Document) -> str:
    """The service's AsyncAPI document as YAML."""
    topics = streams()
    dead_letters = {dead_letter_spec(t).name: s for t, s in topics.items()}
    spec: dict[str, Any] = (
        AsyncAPI(
            document.broker,
            title=document.title,
            version=version("ndx-runtime"),
            description=f"{document.description} Generated by `ndx docs`; do not edit.",
            schema_version="3.0.0",
        )
        .to_specification()
        .to_jsonable()
    )
    spec["defaultContentType"] = "application/protobuf"
    for server in spec["servers"].values():
        server["description"] = "The Kafka cluster: KAFKA_BOOTSTRAP_SERVERS (default shown)."
    messages = spec["components"]["messages"]
    # FastStream's payload schemas; each message describes its own binary payload.
    spec["components"].pop("schemas", None)
    for channel_id, channel in spec["channels"].items():
        address = channel["address"]
        if address in topics:
            stream, dead_letter = topics[address], None
            topic_spec = stream.spec
        else:
            stream, dead_letter = dead_letters[address], address
            topic_spec = dead_letter_spec(stream.spec.name)
        channel["bindings"]["kafka"] = _topic_binding(topic_spec)
        for reference in channel["messages"].values():
            name = reference["$ref"].rsplit("/", 1)[-1]
            messages[name] = _message(root, stream, dead_letter)
        group = document.groups.get(channel_id)
        if group is not None:
            channel["description"] = (
                f"Consumer group {group}: at least once, offsets committed after each batch."
            )
    # In name order, whatever order the brokers keep them in.
    for section in ("channels", "operations"):
        spec[section] = dict(sorted(spec[section].items()))
    spec["components"]["messages"] = dict(sorted(messages.items()))
    for operation in spec["operations"].values():
        channel_id = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        group = document.groups.get(channel_id)
        if group is not None:
            operation["bindings"] = {
                "kafka": {
                    "groupId": {"type": "string", "enum": [group]},
                    "bindingVersion": BINDING_VERSION,
                }
            }
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def generated(root: Path) -> dict[Path, Callable[[], str]]:
    """docs/asyncapi/<service>.yaml and how to produce each."""
    return {
        Path("docs/asyncapi") / f"{d.name}.yaml": (lambda d=d: render(root, d))  # type: ignore[misc]
        for d in documents()
    }
