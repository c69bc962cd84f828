"""AIP-161 field masks: validating paths against descriptors and applying read masks."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from .errors import InvalidInput, Violation

M = TypeVar("M", bound=Message)


def unknown_paths(mask: FieldMask, descriptor: Descriptor) -> list[str]:
    """Paths of `mask` that name no field of `descriptor` (nested paths walk sub-messages)."""
    bad = []
    for path in mask.paths:
        desc: Descriptor | None = descriptor
        for i, part in enumerate(path.split(".")):
            field = desc.fields_by_name.get(part) if desc else None
            if field is None:
                bad.append(path)
                break
            last = i == len(path.split(".")) - 1
            is_message = field.type == FieldDescriptor.TYPE_MESSAGE
            if not last and (not is_message or field.is_repeated):
                bad.append(path)
                break
            desc = field.message_type if is_message else None
    return bad


def check_mask(mask: FieldMask, descriptor: Descriptor, field: str) -> None:
    """Raises InvalidInput naming each unknown path."""
    bad = unknown_paths(mask, descriptor)
    if bad:
        raise InvalidInput(
            [Violation(field, f"{p!r} is not a field of {descriptor.full_name}") for p in bad]
        )


def apply_read_mask(message: M, mask: FieldMask) -> M:
    """A copy of `message` holding only the masked fields; an empty mask keeps everything."""
    if not mask.paths:
        return message
    out = type(message)()
    mask.MergeMessage(message, out)
    return out


def top_level(mask: FieldMask) -> set[str]:
    """The top-level field names a mask touches."""
    return {p.split(".", 1)[0] for p in mask.paths}
