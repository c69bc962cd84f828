"""ndx.common.v1 values <-> Python values, for every registry's adapters."""

from __future__ import annotations

import enum
from datetime import date
from typing import TypeVar

from ndx.common.v1 import types_pb2
from ndx_refdata import gazetteer

from .errors import InvalidInput
from .places import Address

E = TypeVar("E", bound=enum.IntEnum)


def date_from_proto(d: types_pb2.Date, field: str) -> date | None:
    """None for an unset date; InvalidInput naming `field` for an impossible one."""
    if not (d.year or d.month or d.day):
        return None
    try:
        return date(d.year, d.month, d.day)
    except ValueError as e:
        raise InvalidInput.one(
            field, f"{d.year:04d}-{d.month:02d}-{d.day:02d} is not a date: {e}"
        ) from None


def date_to_proto(d: date | None, out: types_pb2.Date) -> None:
    if d is not None:
        out.year, out.month, out.day = d.year, d.month, d.day


def address_from_proto(a: types_pb2.Address) -> Address | None:
    if not (a.province_code or a.ward_code or a.street):
        return None
    return Address(a.province_code, a.ward_code, a.street)


def address_to_proto(a: Address | None, out: types_pb2.Address) -> None:
    """Fills the codes and street, and the names from the gazetteer."""
    if a is None:
        return
    g = gazetteer()
    out.province_code, out.ward_code, out.street = a.province_code, a.ward_code, a.street
    if (p := g.province(a.province_code)) is not None:
        out.province_name = p.name
    if (w := g.ward(a.ward_code)) is not None:
        out.ward_name = w.name


def enum_from_proto(kind: type[E], value: int, field: str) -> E:
    """An IntEnum member; InvalidInput listing the allowed numbers otherwise."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(int(v)) for v in kind)
        raise InvalidInput.one(
            field, f"{value} is not a known value (allowed: {allowed})"
        ) from None
