"""The policy file as written: a versioned YAML document (see default.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quota(_Strict):
    requests: int = Field(gt=0)
    per_seconds: int = Field(gt=0)


class Purpose(_Strict):
    """What one agency may do for one legal purpose (procedure code)."""

    description: str
    # Full method names, "ndx.population.v1.PopulationService/GetCitizen"; "Service/*" for all.
    methods: list[str] = []
    # Readable field paths, "ndx.population.v1.Citizen.permanent_address" (nested and ".*").
    read: list[str] = []
    # Fields the agency may make claims about without reading them.
    verify: list[str] = []
    # Aggregates whose change feed the purpose follows ("citizen"); events carry the `read`
    # fields of the aggregate's resource only.
    feeds: list[str] = []
    quota: Quota | None = None


class Agency(_Strict):
    description: str
    purposes: dict[str, Purpose] = {}


class Registry(_Strict):
    """A registry behind the gateway: its service, the resource it serves, who owns it, and
    the aggregate whose change events agencies may follow (with the event message)."""

    service: str
    resource: str
    owner: str
    aggregate: str | None = None
    event: str | None = None
    writes: list[str] = []
    verifies: list[str] = []


class PolicyDocument(_Strict):
    version: str
    registries: dict[str, Registry]
    agencies: dict[str, Agency]


class PolicyError(Exception):
    """A policy that cannot be used; each problem names where it is in the file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader refusing a key written twice in one mapping: plain YAML keeps the last,
    so a purpose or agency listed twice would silently lose its first block."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is written twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_document(path: Path) -> PolicyDocument:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise PolicyError([f"{where}: {e.problem or e.context}"]) from None
    except (OSError, yaml.YAMLError) as e:
        raise PolicyError([f"{path}: {e}"]) from None
    try:
        return PolicyDocument.model_validate(raw)
    except ValidationError as e:
        raise PolicyError(
            [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()]
        ) from None
