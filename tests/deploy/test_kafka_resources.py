"""The Strimzi resources match what the code declares: every topic a service ensures exists
with its partitions and configs, replicated, and each service's KafkaUser may do exactly what
the service does (no Create: topics.yaml creates the topics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from ndx_gateway.bootstrap import audit_topic, tracker_consumer
from ndx_gateway.config import GatewaySettings

from ndx_business.config import BusinessSettings
from ndx_land.config import LandSettings
from ndx_population.config import PARTITIONS as CITIZEN_PARTITIONS
from ndx_population.config import PopulationSettings
from ndx_runtime.consumer import EventConsumer
from ndx_runtime.topics import TopicSpec, entity_topic

from .manifests import SERVICES, Obj, Render

pytestmark = pytest.mark.deploy

ALLOWED_OPERATIONS = {"Describe", "Read", "Write", "IdempotentWrite"}


@dataclass
class Needs:
    """What a service does with Kafka, read from its settings and start-up code."""

    ensures: list[TopicSpec]
    writes: set[str]
    reads: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)


async def _unused(_: Any) -> None:
    raise AssertionError("never called")


def dead_letters(consumer: EventConsumer) -> TopicSpec:
    # As EventConsumer.start() ensures it.
    return TopicSpec(consumer.dlq_topic, 1, {})


def mirror_needs(settings: LandSettings | BusinessSettings, own: TopicSpec) -> Needs:
    """A registry that follows citizens (ndx_population.subscribers.follow_citizens)."""
    consumer = EventConsumer(
        "unused:9092", settings.citizen_topic, settings.consumer_group, batch_handler=_unused
    )
    dlq = dead_letters(consumer)
    return Needs(
        ensures=[own, entity_topic(settings.citizen_topic, CITIZEN_PARTITIONS), dlq],
        writes={own.name, dlq.name},
        reads={settings.citizen_topic},
        groups={consumer.group_id},
    )


def needs() -> dict[str, Needs]:
    population = PopulationSettings()
    land = LandSettings()
    business = BusinessSettings()
    gateway = GatewaySettings()
    citizens = entity_topic(population.citizen_topic, population.topic_partitions)
    audit = audit_topic(gateway)
    tracker = tracker_consumer(gateway, SimpleNamespace(apply=_unused))  # type: ignore[arg-type]
    tracker_dlq = dead_letters(tracker)
    return {
        "population": Needs(ensures=[citizens], writes={citizens.name}),
        "land": mirror_needs(land, entity_topic(land.parcel_topic, land.topic_partitions)),
        "business-registry": mirror_needs(
            business, entity_topic(business.enterprise_topic, business.topic_partitions)
        ),
        "gateway": Needs(
            ensures=[audit, tracker_dlq],
            writes={audit.name, tracker_dlq.name},
            # Feeds read the change topics by assigned partitions, in no group.
            reads={audit.name, *gateway.feed_topics.values()},
            groups={tracker.group_id},
        ),
    }


def test_every_declared_topic_exists_replicated(render: Render) -> None:
    declared: dict[str, TopicSpec] = {}
    for service in needs().values():
        for spec in service.ensures:
            assert declared.setdefault(spec.name, spec) == spec, f"{spec.name} declared twice"
    topics = {t["spec"]["topicName"]: t["spec"] for t in render.of_kind("KafkaTopic")}
    assert topics.keys() == declared.keys()
    for name, spec in declared.items():
        topic = topics[name]
        assert topic["partitions"] == spec.partitions, name
        assert topic["replicas"] == 3, name
        config = {k: str(v) for k, v in topic.get("config", {}).items()}
        assert config == {**spec.configs, "min.insync.replicas": "2"}, name


def deployment_user(render: Render, service: str) -> Obj:
    """The KafkaUser whose secret the service's pods mount as their Kafka identity."""
    pod = render.get("Deployment", service)["spec"]["template"]["spec"]
    [kafka] = [v for v in pod["volumes"] if v["name"] == "kafka"]
    secrets = {s["secret"]["name"]: s["secret"] for s in kafka["projected"]["sources"]}
    users = [render.get("KafkaUser", name) for name in secrets if name != "ndx-kafka-cluster-ca"]
    assert len(users) == 1, f"{service}: Kafka secrets {sorted(secrets)}"
    assert {i["key"] for i in secrets[users[0]["metadata"]["name"]]["items"]} == {
        "user.crt",
        "user.key",
    }
    return users[0]


def granted(user: Obj, kind: str, name: str | None, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        if acl.get("type", "allow") != "allow" or resource["type"] != kind:
            continue
        if name is not None:
            pattern = resource.get("patternType", "literal")
            if pattern == "literal" and resource.get("name") != name:
                continue
            if pattern == "prefix" and not name.startswith(resource.get("name", "")):
                continue
        if operation in acl["operations"]:
            return True
    return False


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_may_do_what_it_does_and_no_more(render: Render, service: str) -> None:
    need = needs()[service]
    user = deployment_user(render, service)
    assert user["spec"]["authentication"] == {"type": "tls"}
    assert user["spec"]["authorization"]["type"] == "simple"
    for spec in need.ensures:
        assert granted(user, "topic", spec.name, "Describe"), f"{service}: Describe {spec.name}"
    for topic in need.writes:
        assert granted(user, "topic", topic, "Write"), f"{service}: Write {topic}"
    for topic in need.reads:
        assert granted(user, "topic", topic, "Read"), f"{service}: Read {topic}"
        assert granted(user, "topic", topic, "Describe"), f"{service}: Describe {topic}"
    for group in need.groups:
        assert granted(user, "group", group, "Read"), f"{service}: Read group {group}"
    # The producers are idempotent (ndx_runtime.kafka.create_producer).
    assert granted(user, "cluster", None, "IdempotentWrite"), service
    touched = {*need.writes, *need.reads, *(s.name for s in need.ensures)}
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        assert set(acl["operations"]) <= ALLOWED_OPERATIONS, f"{service}: {acl}"
        assert resource.get("patternType", "literal") == "literal", f"{service}: {acl}"
        if resource["type"] == "topic":
            assert resource["name"] in touched, f"{service}: needs no access to {resource}"
        if resource["type"] == "group":
            assert resource["name"] in need.groups, f"{service}: needs no group {resource}"
