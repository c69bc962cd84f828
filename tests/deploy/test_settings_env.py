"""Every variable a pod gets is one its service's settings read (a typo would be silently
ignored: the settings ignore unknown variables), and the values make sense to them."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest
from ndx_gateway.config import GatewaySettings
from pydantic_settings import BaseSettings

from ndx_business.config import BusinessSettings
from ndx_cli.stack.certs import DevPki, Identity
from ndx_land.config import LandSettings
from ndx_population.config import PopulationSettings
from ndx_runtime.settings import variables

from .manifests import SERVICES, Obj, Render

pytestmark = pytest.mark.deploy

SETTINGS: dict[str, type[BaseSettings]] = {
    "population": PopulationSettings,
    "land": LandSettings,
    "business-registry": BusinessSettings,
    "gateway": GatewaySettings,
}
# Read by the OpenTelemetry SDK itself rather than by the settings.
OTEL = {"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"}


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The variables pydantic-settings reads for these settings (case-insensitively)."""
    return {v for name in settings.model_fields for v in variables(settings, name)}


def containers(render: Render, service: str) -> list[Obj]:
    deployment = render.get("Deployment", service)
    job = render.get("Job", f"{service}-migrate")
    return [
        *deployment["spec"]["template"]["spec"]["containers"],
        *job["spec"]["template"]["spec"]["containers"],
    ]


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_variable_is_read_by_the_settings(render: Render, service: str) -> None:
    known = env_names(SETTINGS[service]) | OTEL
    for container in containers(render, service):
        env = render.container_env(container)
        unknown = sorted(set(env) - known)
        assert not unknown, f"{render.overlay} {service}/{container['name']}: unread {unknown}"


@pytest.fixture(scope="module")
def kafka_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Real PEM files standing in for the mounted Kafka secrets (the settings read them)."""
    root = tmp_path_factory.mktemp("kafka-pki")
    DevPki(root).ensure([Identity("service", "user")])
    return {
        "/etc/ndx/kafka/ca.crt": str(root / "ca.crt"),
        "/etc/ndx/kafka/user.crt": str(root / "user.crt"),
        "/etc/ndx/kafka/user.key": str(root / "user.key"),
    }


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_settings_accept_the_values(
    render: Render, service: str, monkeypatch: pytest.MonkeyPatch, kafka_files: dict[str, str]
) -> None:
    settings_class = SETTINGS[service]
    [container] = render.get("Deployment", service)["spec"]["template"]["spec"]["containers"]
    env = render.container_env(container)
    known = env_names(settings_class)
    for name in env_names(settings_class) | env.keys():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is not None and name in known:
            monkeypatch.setenv(name, kafka_files.get(value, value))
    settings = settings_class()
    assert settings.grpc_host == "0.0.0.0" and settings.grpc_port == 8443  # type: ignore[attr-defined]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for name, value in env.items():
        # Every file a setting names is in a mounted volume.
        if value and value.startswith("/etc/ndx/"):
            assert str(PurePosixPath(value).parent) in mounts, f"{name}={value}: not mounted"
    services = {s["metadata"]["name"]: s for s in render.of_kind("Service")}

    def served(address: str) -> bool:
        host, _, port = address.rpartition(":")
        return host in services and int(port) in {
            p["port"] for p in services[host]["spec"]["ports"]
        }

    if isinstance(settings, GatewaySettings):
        assert set(settings.upstreams) == {
            "ndx.population.v1.PopulationService",
            "ndx.land.v1.LandService",
            "ndx.business.v1.BusinessRegistryService",
        }
        assert all(served(a) for a in settings.upstreams.values()), settings.upstreams
        assert settings.workers == 1
        assert json.loads(env["GATEWAY_UPSTREAMS"] or "") == settings.upstreams
    if isinstance(settings, LandSettings | BusinessSettings):
        assert served(settings.gateway_address), settings.gateway_address
