"""deploy/k8s rendered once per session with the pinned kustomize (installed on first use)."""

from __future__ import annotations

import pytest

from .manifests import K8S, OVERLAYS, Render, build, tool


@pytest.fixture(scope="session")
def kustomize() -> str:
    return tool("kustomize.sh")


@pytest.fixture(scope="session")
def renders(kustomize: str) -> dict[str, Render]:
    return {name: Render(name, build(kustomize, K8S / "overlays" / name)) for name in OVERLAYS}


@pytest.fixture(scope="session", params=OVERLAYS)
def render(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    return renders[request.param]
