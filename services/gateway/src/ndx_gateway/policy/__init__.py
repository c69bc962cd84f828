"""The access policy: which agency may call which method, for which purpose, seeing which
fields, and which facts it may only verify."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from google.protobuf.descriptor_pool import DescriptorPool

from .compiled import FEED_METHOD, Decision, Feed, Grant, Policy, compile_policy
from .document import PolicyError, load_document
from .fields import FieldSet
from .projection import Projection, cut, project

__all__ = [
    "DEFAULT_POLICY",
    "FEED_METHOD",
    "Decision",
    "Feed",
    "FieldSet",
    "Grant",
    "Policy",
    "PolicyError",
    "Projection",
    "cut",
    "load_policy",
    "project",
]

DEFAULT_POLICY = Path(str(resources.files(__package__) / "default.yaml"))


def load_policy(path: Path, pool: DescriptorPool) -> Policy:
    """Reads and checks a policy file; PolicyError names each problem and where it is."""
    return compile_policy(load_document(path), pool)
