"""Addresses shared by every registry: the value (standard library only) and its checks."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ndx_refdata import gazetteer

from .errors import Violation


@dataclass(frozen=True, slots=True)
class Address:
    """A place: province and ward codes of the 2025 catalogue, and the street part."""

    province_code: str
    ward_code: str
    street: str = ""


def address_violations(field: str, address: Address) -> list[Violation]:
    """What is wrong with an address: an unknown ward, or a ward outside the named province."""
    ward = gazetteer().ward(address.ward_code)
    if ward is None:
        return [
            Violation(
                f"{field}.ward_code",
                f"{address.ward_code!r} is not a ward code of the 2025 administrative catalogue",
            )
        ]
    if address.province_code and address.province_code != ward.province_code:
        return [
            Violation(
                f"{field}.province_code",
                f"ward {ward.code} ({ward.name}) is in province {ward.province_code}, "
                f"not {address.province_code!r}",
            )
        ]
    return []


def complete(address: Address) -> Address:
    """The address with its province code filled in from the ward (when the ward is known)."""
    if address.province_code:
        return address
    ward = gazetteer().ward(address.ward_code)
    return replace(address, province_code=ward.province_code) if ward else address
