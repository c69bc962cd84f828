"""Public reference data: administrative units after the 2025 reorganisation and ID province codes."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Gazetteer", "IdProvince", "Province", "Ward", "gazetteer", "id_provinces"]


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
