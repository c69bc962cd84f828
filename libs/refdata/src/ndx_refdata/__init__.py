"""Public reference data: 2025 administrative units and ID province codes."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "ID_CODES_BY_PROVINCE",
    "Gazetteer",
    "IdProvince",
    "Province",
    "Ward",
    "gazetteer",
    "id_provinces",
]


@dataclass(frozen=True, slots=True)
class Ward:
    """A ward, commune or special zone; `code` is the 5-digit statistics office code."""

    code: str
    name: str
    kind: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Province:
    """A province or centrally run city; `code` is the 2-digit statistics office code."""

    code: str
    name: str
    kind: str
    wards: tuple[Ward, ...]


@dataclass(frozen=True, slots=True)
class IdProvince:
    """A province code of birth registration that begins a personal identification number."""

    code: str
    name: str


class Gazetteer:
    """Looks up provinces and wards by code."""

    def __init__(self, provinces: tuple[Province, ...]) -> None:
        self.provinces = provinces
        self._provinces = {p.code: p for p in provinces}
        self._wards = {w.code: w for p in provinces for w in p.wards}
        self.wards: tuple[Ward, ...] = tuple(self._wards.values())

    def province(self, code: str) -> Province | None:
        return self._provinces.get(code)

    def ward(self, code: str) -> Ward | None:
        return self._wards.get(code)


def _data(name: str) -> str:
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


@cache
def gazetteer() -> Gazetteer:
    """The 34 provinces and 3,321 wards in force since 1 July 2025."""
    provinces = []
    for p in json.loads(_data("vn-admin-units-2025.json")):
        pcode = f"{p['code']:02d}"
        wards = tuple(
            Ward(code=f"{w['code']:05d}", name=w["name"], kind=w["type"], province_code=pcode)
            for w in p["wards"]
        )
        provinces.append(Province(code=pcode, name=p["name"], kind=p["type"], wards=wards))
    return Gazetteer(tuple(provinces))


@cache
def id_provinces() -> dict[str, IdProvince]:
    """Province codes of birth registration used in personal ID numbers, by 3-digit code."""
    rows = csv.DictReader(_data("vn-id-province-codes.csv").splitlines())
    return {r["code"]: IdProvince(code=r["code"], name=r["province"]) for r in rows}


# The pre-2025 provinces merged into each 2025 province (Resolution 202/2025/QH15), as the
# 3-digit ID codes of birth registration; the first is the province whose name the new one kept.
ID_CODES_BY_PROVINCE: dict[str, tuple[str, ...]] = {
    "01": ("001",),
    "04": ("004",),
    "08": ("008", "002"),
    "11": ("011",),
    "12": ("012",),
    "14": ("014",),
    "15": ("010", "015"),
    "19": ("019", "006"),
    "20": ("020",),
    "22": ("022",),
    "24": ("027", "024"),
    "25": ("025", "026", "017"),
    "31": ("031", "030"),
    "33": ("033", "034"),
    "37": ("037", "035", "036"),
    "38": ("038",),
    "40": ("040",),
    "42": ("042",),
    "44": ("045", "044"),
    "46": ("046",),
    "48": ("048", "049"),
    "51": ("051", "062"),
    "52": ("064", "052"),
    "56": ("056", "058"),
    "66": ("066", "054"),
    "68": ("068", "067", "060"),
    "75": ("075", "070"),
    "79": ("079", "074", "077"),
    "80": ("072", "080"),
    "82": ("087", "082"),
    "86": ("086", "083", "084"),
    "91": ("089", "091"),
    "92": ("092", "093", "094"),
    "96": ("096", "095"),
}
