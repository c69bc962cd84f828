"""The NetworkPolicies, evaluated as a CNI would: the CPNet rule (agencies reach only the
gateway; only the gateway reaches the registries) and what each pod needs besides."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from .manifests import REGISTRIES, SERVICES, Obj, Render, matches

pytestmark = pytest.mark.deploy


@dataclass(frozen=True)
class Pod:
    name: str
    labels: dict[str, str]
    namespace: dict[str, str] = field(default_factory=dict)


def pods(render: Render) -> list[Pod]:
    [namespace] = render.of_kind("Namespace")
    ns_labels = {
        **namespace["metadata"].get("labels", {}),
        "kubernetes.io/metadata.name": namespace["metadata"]["name"],
    }
    return [
        Pod(w["metadata"]["name"], w["spec"]["template"]["metadata"]["labels"], ns_labels)
        for w, _ in render.workloads()
    ]


def outside(namespace: str, **labels: str) -> Pod:
    return Pod(f"{namespace}/pod", labels, {"kubernetes.io/metadata.name": namespace})


def peer_matches(peer: Obj, pod: Pod) -> bool:
    # An ipBlock may or may not cover pods, depending on the CNI: assume it does.
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer and not matches(peer["namespaceSelector"], pod.namespace):
        return False
    return "podSelector" not in peer or matches(peer["podSelector"], pod.labels)


def port_matches(rule: Obj, port: int, protocol: str) -> bool:
    if not rule.get("ports"):
        return True
    for p in rule["ports"]:
        assert isinstance(p["port"], int), f"use port numbers in policies, not {p['port']!r}"
        if p["port"] == port and p.get("protocol", "TCP") == protocol:
            return True
    return False


def admits(render: Render, pod: Pod, direction: str, peer: Pod, port: int, proto: str) -> bool:
    """Whether the policies selecting `pod` let traffic in (Ingress, from `peer`) or out
    (Egress, to `peer`) on `port`."""
    field_name, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    policies = [
        p
        for p in render.of_kind("NetworkPolicy")
        if direction in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], pod.labels)
    ]
    if not policies:
        return True
    return any(
        port_matches(rule, port, proto)
        and (not rule.get(peers) or any(peer_matches(x, peer) for x in rule[peers]))
        for p in policies
        for rule in p["spec"].get(field_name, [])
    )


def connects(render: Render, src: Pod, dst: Pod, port: int, proto: str = "TCP") -> bool:
    return admits(render, src, "Egress", dst, port, proto) and admits(
        render, dst, "Ingress", src, port, proto
    )


def test_everything_is_denied_unless_allowed(render: Render) -> None:
    denies = [
        p
        for p in render.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert denies, f"{render.overlay}: no default-deny NetworkPolicy"


def test_only_the_gateway_calls_registries_and_only_registries_call_it(render: Render) -> None:
    everyone = pods(render)
    reachable = {
        (src.name, dst.name)
        for src in everyone
        for dst in everyone
        if src != dst and connects(render, src, dst, 8443)
    }
    assert reachable == {
        ("gateway", "population"),
        ("gateway", "land"),
        ("gateway", "business-registry"),
        # The land and business registries verify citizens through the gateway.
        ("land", "gateway"),
        ("business-registry", "gateway"),
    }


def test_registries_admit_their_port_only_from_gateway_pods(render: Render) -> None:
    everyone = pods(render)
    for name in REGISTRIES:
        [registry] = [p for p in everyone if p.name == name]
        rules = [
            rule
            for p in render.of_kind("NetworkPolicy")
            if "Ingress" in p["spec"]["policyTypes"]
            and matches(p["spec"]["podSelector"], registry.labels)
            for rule in p["spec"].get("ingress", [])
            if port_matches(rule, 8443, "TCP")
        ]
        assert rules, f"{name}: nothing admitted on 8443"
        for rule in rules:
            assert rule.get("from"), f"{name}: 8443 open to every source"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{name}: 8443 admits {peer}"
                selected = {p.name for p in everyone if peer_matches(peer, p)}
                assert selected == {"gateway"}, f"{name}: 8443 admits {selected}"


def test_agencies_outside_reach_the_gateway(render: Render) -> None:
    everyone = {p.name: p for p in pods(render)}
    agency = outside("agency-systems")
    assert admits(render, everyone["gateway"], "Ingress", agency, 8443, "TCP")
    for name in REGISTRIES:
        # No peer but the gateway: an address or namespace outside never matches.
        registry = everyone[name]
        rules = [
            rule
            for p in render.of_kind("NetworkPolicy")
            if "Ingress" in p["spec"]["policyTypes"]
            and matches(p["spec"]["podSelector"], registry.labels)
            for rule in p["spec"].get("ingress", [])
            if port_matches(rule, 8443, "TCP")
        ]
        assert all("ipBlock" not in peer for rule in rules for peer in rule["from"]), name


def test_services_reach_what_they_need(render: Render) -> None:
    everyone = {p.name: p for p in pods(render)}
    [cluster] = {
        o["metadata"]["labels"]["strimzi.io/cluster"]
        for o in render.objects
        if o["apiVersion"].startswith("kafka.strimzi.io/")
    }
    bootstrap = render.config_map_keys(
        next(
            c["metadata"]["name"]
            for c in render.of_kind("ConfigMap")
            if c["metadata"]["name"].startswith("ndx-cluster")
        )
    )["KAFKA_BOOTSTRAP_SERVERS"]
    host, _, port = bootstrap.partition(":")
    service, kafka_namespace = host.split(".")[:2]
    # Strimzi names the bootstrap Service after the cluster.
    assert service == f"{cluster}-kafka-bootstrap" and port == "9093", bootstrap
    broker = outside(kafka_namespace, **{"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka"})
    dns = outside("kube-system", **{"k8s-app": "kube-dns"})
    prometheus = outside("monitoring", app="prometheus")
    database = outside("postgres", app="postgresql")
    collector = outside("monitoring", app="otel-collector")
    kubelet = outside("node")
    for name in SERVICES:
        pod = everyone[name]
        assert admits(render, pod, "Egress", broker, 9093, "TCP"), name
        assert not admits(render, pod, "Egress", outside("elsewhere", app="x"), 9093, "TCP")
        assert admits(render, pod, "Egress", dns, 53, "UDP"), name
        assert admits(render, pod, "Egress", dns, 53, "TCP"), name
        assert admits(render, pod, "Egress", database, 5432, "TCP"), name
        assert admits(render, pod, "Egress", collector, 4317, "TCP"), name
        assert admits(render, pod, "Ingress", prometheus, 9464, "TCP"), name
        assert not admits(render, pod, "Ingress", outside("elsewhere"), 9464, "TCP"), name
        assert admits(render, pod, "Ingress", kubelet, 8081, "TCP"), name
        job = everyone[f"{name}-migrate"]
        assert admits(render, job, "Egress", database, 5432, "TCP"), name
        assert admits(render, job, "Egress", dns, 53, "UDP"), name
        assert not admits(render, job, "Egress", broker, 9093, "TCP"), name
        assert not admits(render, job, "Ingress", outside("elsewhere"), 8081, "TCP"), name
