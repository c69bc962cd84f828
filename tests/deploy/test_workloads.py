"""The properties of the Deployments and Jobs that matter in a cluster: locked-down pods,
bounded resources, probes on the health port, graceful shutdown, migrations by a Job."""

from __future__ import annotations

import pytest

from .manifests import SERVICES, Obj, Render

pytestmark = pytest.mark.deploy

UID = 10001
HEALTH_PORT = 8081


def containers(pod: Obj) -> list[Obj]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_pod_runs_locked_down(render: Render) -> None:
    workloads = list(render.workloads())
    assert len(workloads) == 2 * len(SERVICES)
    for workload, pod in workloads:
        where = f"{render.overlay}: {workload['kind']} {workload['metadata']['name']}"
        assert pod["automountServiceAccountToken"] is False, where
        # Service links would add GATEWAY_PORT, LAND_SERVICE_HOST...: the settings' prefixes.
        assert pod["enableServiceLinks"] is False, where
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["runAsUser"] == UID and security["runAsGroup"] == UID, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in containers(pod):
            c = container["securityContext"]
            assert c["readOnlyRootFilesystem"] is True, where
            assert c["allowPrivilegeEscalation"] is False, where
            assert c["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in c["capabilities"], where
            assert c.get("runAsUser", UID) == UID, where
            assert not c.get("privileged", False), where
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert {"cpu", "memory"} <= limits.keys() and {"cpu", "memory"} <= requests.keys(), (
                where
            )
            # The one writable place is an emptyDir at /tmp.
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{where}: no /tmp volume"
            [volume] = [v for v in pod["volumes"] if v["name"] == tmp[0]["name"]]
            assert "emptyDir" in volume, where
            writable = [
                m["mountPath"]
                for m in container["volumeMounts"]
                if not m.get("readOnly") and m["mountPath"] != "/tmp"
            ]
            assert not writable, f"{where}: writable mounts {writable}"


def test_services_probe_the_health_port(render: Render) -> None:
    for name in SERVICES:
        [container] = render.get("Deployment", name)["spec"]["template"]["spec"]["containers"]
        probes = {k: container[k]["grpc"] for k in ("startupProbe", "livenessProbe")}
        probes["readinessProbe"] = container["readinessProbe"]["grpc"]
        assert all(p["port"] == HEALTH_PORT for p in probes.values()), name
        assert probes["livenessProbe"].get("service", "") == "", name
        assert probes["startupProbe"].get("service", "") == "", name
        assert probes["readinessProbe"]["service"] == "readiness", name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"grpc": 8443, "health": HEALTH_PORT, "metrics": 9464}, name
        env = render.container_env(container)
        prefix = SERVICES[name][0]
        assert env[f"{prefix}_HEALTH_PORT"] == str(HEALTH_PORT), name
        assert env[f"{prefix}_GRPC_PORT"] == "8443" and env[f"{prefix}_GRPC_HOST"] == "0.0.0.0"


def test_pods_outlive_their_shutdown(render: Render) -> None:
    """SIGTERM comes after preStop; the pod is killed only after the service's own grace for
    in-flight calls, plus the few seconds its Kafka clients get to close."""
    for name, (prefix, _, _) in SERVICES.items():
        pod = render.get("Deployment", name)["spec"]["template"]["spec"]
        [container] = pod["containers"]
        grace = float(render.container_env(container)[f"{prefix}_SHUTDOWN_GRACE_SECONDS"] or 0)
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        kafka_close = 2 * 5  # a producer and a consumer, SHUTDOWN_KAFKA_SECONDS each
        assert pod["terminationGracePeriodSeconds"] >= pre_stop + grace + kafka_close, name


def test_migrations_run_in_a_job_with_the_service_image(render: Render) -> None:
    for name, (prefix, script, _) in SERVICES.items():
        deployment = render.get("Deployment", name)
        job = render.get("Job", f"{name}-migrate")
        [server] = deployment["spec"]["template"]["spec"]["containers"]
        [migrate] = job["spec"]["template"]["spec"]["containers"]
        assert migrate["image"] == server["image"], name
        assert server["command"] == [script] and not server.get("args"), name
        assert [*migrate["command"], *migrate["args"]] == [script, "migrate"], name
        assert render.container_env(server)[f"{prefix}_MIGRATE_ON_START"] == "false", name
        # The same database: the URL from the same Secret key.
        url = f"{prefix}_DATABASE_URL"
        [from_server] = [e for e in server["env"] if e["name"] == url]
        [from_job] = [e for e in migrate["env"] if e["name"] == url]
        assert from_server["valueFrom"] == from_job["valueFrom"], name
        assert from_server["valueFrom"]["secretKeyRef"] == {
            "name": f"{name}-database",
            "key": "url",
        }
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never", name


def test_no_secret_is_committed(render: Render) -> None:
    """Secrets are only referenced: operators (or cert-manager, Strimzi) create them."""
    assert not render.of_kind("Secret")


def test_every_pod_is_spread_and_covered_by_a_budget(render: Render) -> None:
    budgets = render.of_kind("PodDisruptionBudget")
    for name in SERVICES:
        deployment = render.get("Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }
        for constraint in spread:
            assert constraint["labelSelector"]["matchLabels"].items() <= labels.items(), name
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, name
        assert covering[0]["spec"] == {
            "maxUnavailable": 1,
            "selector": covering[0]["spec"]["selector"],
        }, name


def test_prometheus_finds_the_metrics_port(render: Render) -> None:
    for name in SERVICES:
        template = render.get("Deployment", name)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9464"
        service = render.get("Service", name)
        assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
            "grpc": 8443,
            "metrics": 9464,
        }
