"""Field sets: which fields of a message (and of its nested messages) are granted.

A set maps a field name to None (the whole field) or to the set of its sub-fields. Paths are
written `ndx.population.v1.Citizen.permanent_address.ward_code`, or with `.*` for a whole
message (`ndx.population.v1.Citizen.*`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool


@dataclass
class FieldSet:
    fields: dict[str, FieldSet | None] = field(default_factory=dict)
    everything: bool = False
    # What cutting a message to this set does, by its path and the fields it has: filled by
    # the projection as it meets messages, emptied when the set changes.
    plans: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def grants(self, path: list[str]) -> bool:
        """Whether the whole of `path` (field names from the root message) is granted."""
        if self.everything:
            return True
        if not path:
            return False
        head, *rest = path
        if head not in self.fields:
            return False
        sub = self.fields[head]
        return sub is None or (bool(rest) and sub.grants(rest))

    def add(self, path: list[str]) -> None:
        """Grants `path`; an empty path grants everything."""
        self.plans.clear()
        if self.everything:
            return
        if not path:
            self.everything, self.fields = True, {}
            return
        head, *rest = path
        if head in self.fields and self.fields[head] is None:
            return
        if not rest:
            self.fields[head] = None
            return
        sub = self.fields.get(head) or FieldSet()
        sub.add(rest)
        self.fields[head] = sub

    def names(self, prefix: str = "") -> list[str]:
        """The granted paths, for explanations."""
        if self.everything:
            return [f"{prefix}*"]
        out: list[str] = []
        for name, sub in sorted(self.fields.items()):
            out.extend([f"{prefix}{name}"] if sub is None else sub.names(f"{prefix}{name}."))
        return out


def resolve(pool: DescriptorPool, path: str) -> tuple[Descriptor, list[str]]:
    """Splits a field path into its root message type and the field names below it; raises
    ValueError naming the part that does not exist."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            root = pool.FindMessageTypeByName(".".join(parts[:cut]))
        except KeyError:
            continue
        names = parts[cut:]
        check(root, names)
        return root, [] if names == ["*"] else [n for n in names if n != "*"]
    raise ValueError(f"no message type in {path!r}")


def check(root: Descriptor, names: list[str]) -> None:
    message: Descriptor | None = root
    for i, name in enumerate(names):
        if name == "*":
            if i != len(names) - 1:
                raise ValueError("'*' may only end a path")
            return
        if message is None:
            raise ValueError(f"{names[i - 1]!r} has no fields")
        found = message.fields_by_name.get(name)
        if found is None:
            raise ValueError(f"{message.full_name} has no field {name!r}")
        message = found.message_type if found.type == FieldDescriptor.TYPE_MESSAGE else None
