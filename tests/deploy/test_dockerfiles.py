"""The Dockerfiles (no Docker engine needed): hadolint-clean, and consistent with the
workspace and the manifests: the right package and its workspace libraries, the console
script the Deployment runs, the UID the pods run as, the ports they use."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .manifests import ROOT, SERVICES, Render

pytestmark = pytest.mark.deploy

HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--config", str(ROOT / ".hadolint.yaml"), str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def members() -> dict[str, Path]:
    """Workspace member name -> its folder."""
    found = {}
    for pyproject in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        found[tomllib.loads(pyproject.read_text())["project"]["name"]] = pyproject.parent
    return found


def closure(package: str) -> set[str]:
    """The package and the workspace members it depends on, directly or not."""
    folders = members()
    seen, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        project = tomllib.loads((folders[name] / "pyproject.toml").read_text())["project"]
        for dependency in project.get("dependencies", []):
            dep = Requirement(dependency).name
            if dep in folders:
                todo.append(dep)
    return seen


@pytest.mark.parametrize("service", list(SERVICES))
def test_hadolint_finds_nothing(service: str) -> None:
    done = hadolint(ROOT / "services" / service / "Dockerfile")
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install uv\nCMD ndx-population\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert "DL3006" in done.stdout and "DL3013" in done.stdout, done.stdout


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_image_is_what_the_manifests_run(renders: dict[str, Render], service: str) -> None:
    dockerfile = ROOT / "services" / service / "Dockerfile"
    steps = instructions(dockerfile)
    package = tomllib.loads((dockerfile.parent / "pyproject.toml").read_text())["project"]
    name = package["name"]
    syncs = [args for kw, args in steps if kw == "RUN" and "uv sync" in args]
    assert syncs and all(
        "--frozen" in s and "--no-dev" in s and f"--package {name}" in s for s in syncs
    )
    assert "--no-editable" in syncs[-1]
    # Exactly the workspace members the package needs, manifests and sources.
    folders = members()
    needed = {str(folders[m].relative_to(ROOT)) for m in closure(name)}
    copied = [args.split()[-1].rstrip("/") for kw, args in steps if kw == "COPY"]
    assert {c.removesuffix("/src") for c in copied if c.endswith("/src")} == needed
    assert {c for c in copied if c.startswith(("libs/", "services/"))} == needed | {
        f"{m}/src" for m in needed
    }
    # Build and runtime stages share the Python the virtual environment points at.
    bases = [args.split()[0] for kw, args in steps if kw == "FROM"]
    assert bases[-1] == bases[-2] and bases[-1].startswith("python:3.11-slim"), bases
    env = " ".join(args for kw, args in steps if kw == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    [user] = [args for kw, args in steps if kw == "USER"]
    [expose] = [args for kw, args in steps if kw == "EXPOSE"]
    assert set(expose.split()) == {"8443", "8081", "9464"}
    [entrypoint] = [json.loads(args) for kw, args in steps if kw == "ENTRYPOINT"]
    script = SERVICES[service][1]
    assert entrypoint == [script]
    assert script in package.get("scripts", {})
    for render in renders.values():
        pod = render.get("Deployment", service)["spec"]["template"]["spec"]
        assert (
            user == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"
        )
        [container] = pod["containers"]
        assert container["command"] == entrypoint
        image = container["image"].split("@")[0].rpartition(":")[0]
        assert image.rpartition("/")[2] == name, container["image"]


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".ndx", ".venv", "node_modules", "tests", "**/tests", "bench"} <= ignored
