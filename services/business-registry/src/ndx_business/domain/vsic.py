"""Business lines: classes (four-digit level) of the Vietnam Standard Industrial Classification
2018 (VSIC 2018, Decision 27/2018/QĐ-TTg), the level business registration records.

The catalogue lives in `data/vsic_2018.tsv`: every class an enterprise can register, that is the
whole four-digit level except public administration (section O), households as employers (T) and
extraterritorial organisations (U). A code outside it is refused.
"""

from __future__ import annotations

from importlib import resources
from types import MappingProxyType


def _load() -> dict[str, str]:
    text = resources.files(__package__).joinpath("data", "vsic_2018.tsv").read_text("utf-8")
    rows = (line.split("\t", 1) for line in text.splitlines() if line and line[0] != "#")
    return {code: name for code, name in rows}


VSIC_2018: MappingProxyType[str, str] = MappingProxyType(_load())
"""Four-digit VSIC 2018 class -> Vietnamese name."""


def vsic_name(code: str) -> str | None:
    """The class name, or None when the code is not in the catalogue."""
    return VSIC_2018.get(code)
