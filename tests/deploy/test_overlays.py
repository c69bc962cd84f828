"""What each overlay promises: dev is small and single, prod is replicated, spread over zones,
autoscaled and pinned; the gateway's policy comes from an editable ConfigMap."""

from __future__ import annotations

from pathlib import Path

import pytest
from ndx_gateway.policy import DEFAULT_POLICY, load_policy

from ndx_runtime.contracts import load_contracts

from .manifests import K8S, REGISTRIES, SERVICES, Render

pytestmark = pytest.mark.deploy


def replicas(render: Render, name: str) -> int:
    return int(render.get("Deployment", name)["spec"].get("replicas", 1))


def zone_spread(render: Render, name: str) -> str:
    spread = render.get("Deployment", name)["spec"]["template"]["spec"]
    [zone] = [
        c
        for c in spread["topologySpreadConstraints"]
        if c["topologyKey"] == "topology.kubernetes.io/zone"
    ]
    return str(zone["whenUnsatisfiable"])


def images(render: Render) -> set[str]:
    return {c["image"] for _, pod in render.workloads() for c in pod["containers"]}


def test_dev_runs_one_of_everything(renders: dict[str, Render]) -> None:
    dev = renders["dev"]
    assert dev.namespace == "ndx-dev"
    assert {o["metadata"]["namespace"] for o in dev.objects if o["kind"] != "Namespace"} == {
        "ndx-dev"
    }
    assert all(replicas(dev, name) == 1 for name in SERVICES)
    assert not dev.of_kind("HorizontalPodAutoscaler")
    # A node can still be drained with one replica.
    assert all(b["spec"]["maxUnavailable"] == 1 for b in dev.of_kind("PodDisruptionBudget"))
    assert all(i.endswith(":dev") for i in images(dev)), images(dev)


def test_prod_is_replicated_spread_and_pinned(renders: dict[str, Render]) -> None:
    prod = renders["prod"]
    assert prod.namespace == "ndx"
    assert {o["metadata"]["namespace"] for o in prod.objects if o["kind"] != "Namespace"} == {"ndx"}
    assert all(replicas(prod, name) == 3 for name in REGISTRIES)
    # The autoscaler owns the gateway's count: a replicas field would reset it on each apply.
    assert "replicas" not in prod.get("Deployment", "gateway")["spec"]
    hpa = prod.get("HorizontalPodAutoscaler", "gateway")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    [metric] = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert all(zone_spread(prod, name) == "DoNotSchedule" for name in SERVICES)
    for image in images(prod):
        name, _, tag = image.rpartition(":")
        assert "@sha256:" in image or (name and tag not in ("", "latest", "dev")), image


def test_namespaces_enforce_the_restricted_pod_security(render: Render) -> None:
    [namespace] = render.of_kind("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_gateway_policy_is_a_mounted_directory_that_compiles(
    render: Render, tmp_path: Path
) -> None:
    config = render.get("ConfigMap", "gateway-policy")
    pod = render.get("Deployment", "gateway")["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "gateway-policy"]
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    # A subPath mount would never see the ConfigMap change; the directory does.
    assert "subPath" not in mount and "items" not in volume["configMap"]
    policy_file = render.container_env(container)["GATEWAY_POLICY_FILE"]
    assert policy_file == f"{mount['mountPath']}/policy.yaml"
    written = tmp_path / "policy.yaml"
    written.write_text(config["data"]["policy.yaml"])
    assert load_policy(written, load_contracts()).version


def test_the_base_policy_is_the_gateways_default() -> None:
    assert (K8S / "base" / "gateway" / "policy.yaml").read_text() == DEFAULT_POLICY.read_text(), (
        "deploy/k8s/base/gateway/policy.yaml differs from the gateway's default policy: copy "
        "services/gateway/src/ndx_gateway/policy/default.yaml over it"
    )
