"""Change events cut to a grant: `before` and `after` keep only the granted fields, and
`changed_fields` only the granted fields whose value changed. A change that leaves every
granted field as it was is not visible to the grant at all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.message import Message

from ..policy import FieldSet, cut


@dataclass
class VisibleChange:
    event: Message  # the change event, cut in place
    kept: set[str]  # field paths it still carries
    removed: set[str]  # field paths cut away


def visible_change(
    event: Message, resources: Iterable[str], read: dict[str, FieldSet]
) -> VisibleChange | None:
    """Cuts `event` (an `<Entity>Changed`) to the `read` grant in place; None when nothing the
    grant shows differs between before and after (the change is not delivered)."""
    projection = cut(event, resources, read)
    before, after = getattr(event, "before"), getattr(event, "after")  # noqa: B009
    if before == after:
        return None
    mask = getattr(event, "changed_fields")  # noqa: B009
    visible = [p for p in mask.paths if _value(before, p) != _value(after, p)]
    del mask.paths[:]
    mask.paths.extend(visible)
    return VisibleChange(event, projection.kept, projection.removed)


_UNKNOWN = object()


def _value(message: Message, path: str) -> object:
    """The value at a field path ("full_name", "permanent_address.ward_code"); the same
    placeholder on both sides for a path the message does not have."""
    value: object = message
    for name in path.split("."):
        if not isinstance(value, Message):
            return _UNKNOWN
        field = value.DESCRIPTOR.fields_by_name.get(name)
        if field is None:
            return _UNKNOWN
        value = getattr(value, name)
        if field.is_repeated:
            value = list(value)  # type: ignore[call-overload]
    return value
