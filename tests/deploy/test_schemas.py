"""Every rendered object is valid: Kubernetes kinds against the API's schemas (strict: an
unknown field is an error, as `kubectl apply --validate=strict` makes it), Strimzi kinds
against the CRDs Strimzi generates from its own API classes."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from .manifests import K8S, Render, build, tool

pytestmark = pytest.mark.deploy

# The oldest Kubernetes the manifests are for (the preStop sleep action is on by default
# from 1.30) and the newest whose schemas kubernetes-validate bundles.
KUBERNETES = ("1.31.0", kubernetes_validate.latest_version())
STRIMZI_GROUP = "kafka.strimzi.io"


@cache
def strimzi_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The openAPIV3Schema Strimzi installs for this kind and version, made strict."""
    version = api_version.split("/")[1]
    crd_file = Path(tool("strimzi-crds.sh")) / version / f"{kind.lower()}.yaml"
    assert crd_file.is_file(), f"no CRD for {api_version} {kind} (Strimzi has none?)"
    crd = yaml.safe_load(crd_file.read_text())
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    return strict(served["schema"]["openAPIV3Schema"])


def strict(schema: Any) -> Any:
    """A structural schema as the API server applies it with strict field validation:
    fields it does not name are errors unless it preserves unknown fields."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validate(obj: dict[str, Any]) -> None:
    where = f"{obj['kind']} {obj['metadata']['name']}"
    if obj["apiVersion"].startswith(STRIMZI_GROUP + "/"):
        schema = strimzi_schema(obj["apiVersion"], obj["kind"])
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(obj))
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
        )
        return
    for version in KUBERNETES:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            raise AssertionError(f"{where} (Kubernetes {version}): {e.message}") from None


def test_every_object_is_valid(render: Render) -> None:
    kinds = {o["kind"] for o in render.objects}
    assert {"Deployment", "Job", "KafkaTopic", "KafkaUser", "NetworkPolicy"} <= kinds
    for obj in render.objects:
        validate(obj)


def test_strimzi_resources_are_valid_for_operators_before_0_49(
    kustomize: str, tmp_path: Path
) -> None:
    """The v1beta2 component turns the Strimzi resources into what Strimzi 0.23-0.51 serves."""
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                # kustomize takes only relative paths.
                "resources": [os.path.relpath(K8S / "overlays" / "prod", tmp_path)],
                "components": [os.path.relpath(K8S / "components" / "strimzi-v1beta2", tmp_path)],
            }
        )
    )
    strimzi = [o for o in build(kustomize, tmp_path) if o["apiVersion"].startswith(STRIMZI_GROUP)]
    assert {o["apiVersion"] for o in strimzi} == {f"{STRIMZI_GROUP}/v1beta2"}
    assert {o["kind"] for o in strimzi} == {"KafkaTopic", "KafkaUser"}
    for obj in strimzi:
        validate(obj)


def test_the_checks_refuse_a_mistake(render: Render) -> None:
    """A misspelt field fails both validators (so their silence above means something)."""
    deployment = render.get("Deployment", "population")
    bad = yaml.safe_load(yaml.safe_dump(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(AssertionError, match="readOnlyRootFileSystem"):
        validate(bad)
    user = yaml.safe_load(yaml.safe_dump(render.get("KafkaUser", "ndx-land")))
    user["spec"]["authorization"]["acls"][0]["operation"] = "Write"
    with pytest.raises(AssertionError, match="operation"):
        validate(user)
