"""Rendering deploy/k8s with the pinned kustomize, and reading what it rendered."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = ROOT / "scripts" / "tools"
OVERLAYS = ("dev", "prod")
# Deployment name -> (env prefix, console script, Python package of its settings).
SERVICES = {
    "population": ("POPULATION", "ndx-population", "services/population"),
    "land": ("LAND", "ndx-land", "services/land"),
    "business-registry": ("BUSINESS", "ndx-business", "services/business-registry"),
    "gateway": ("GATEWAY", "ndx-gateway", "services/gateway"),
}
REGISTRIES = ("population", "land", "business-registry")

Obj = dict[str, Any]


def tool(script: str) -> str:
    """Runs scripts/tools/<script> (which installs the tool on first use) and returns its path."""
    done = subprocess.run(
        ["bash", str(TOOLS / script)], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/tools/{script} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def build(kustomize: str, path: Path) -> list[Obj]:
    """The objects `kustomize build path` renders."""
    done = subprocess.run(
        [kustomize, "build", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"kustomize build {path} failed:\n{done.stderr}")
    return [o for o in yaml.safe_load_all(done.stdout) if o]


@dataclass
class Render:
    """One overlay, rendered."""

    overlay: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert found, f"{self.overlay}: no {kind} named {name!r}"
        return found[0]

    @property
    def namespace(self) -> str:
        [ns] = self.of_kind("Namespace")
        return str(ns["metadata"]["name"])

    def workloads(self) -> Iterator[tuple[Obj, Obj]]:
        """(Deployment or Job, its pod spec)."""
        for o in self.objects:
            if o["kind"] in ("Deployment", "Job"):
                yield o, o["spec"]["template"]["spec"]

    def config_map_keys(self, name: str) -> Mapping[str, str]:
        return dict(self.get("ConfigMap", name).get("data", {}))

    def container_env(self, container: Obj) -> dict[str, str | None]:
        """Every variable a container gets: its env (None for a secret's) and its envFrom maps."""
        env: dict[str, str | None] = {}
        for source in container.get("envFrom", []):
            assert "configMapRef" in source, f"unexpected envFrom {source}"
            env.update(self.config_map_keys(source["configMapRef"]["name"]))
        for var in container.get("env", []):
            env[var["name"]] = var.get("value")
        return env


def matches(selector: Obj, labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector selects these labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
