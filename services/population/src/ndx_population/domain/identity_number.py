"""The 12-digit personal identification number (Decree 137/2015 art. 13; Law 26/2023).

Digits 1-3: province of birth registration (Circular 07/2016 appendix 1); digit 4: century and
gender (1900s male 0 / female 1, 2000s 2 / 3, 2100s 4 / 5); digits 5-6: last two digits of the
birth year; digits 7-12: random. There is no check digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from ndx_refdata import id_provinces
from ndx_runtime.errors import InvalidInput

from .values import Gender

_CENTURIES = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100}
_CENTURY_DIGITS = frozenset(str(d) for d in _CENTURIES)
_PROVINCE = itemgetter(slice(0, 3))
_CENTURY = itemgetter(3)


@dataclass(frozen=True, slots=True)
class IdentityNumber:
    """A parsed personal identification number."""

    value: str
    province_code: str
    gender: Gender
    birth_year: int

    @classmethod
    def parse(cls, value: str, field: str = "citizen_id") -> IdentityNumber:
        if len(value) != 12 or not value.isascii() or not value.isdigit():
            raise InvalidInput.one(field, f"must be 12 digits, got {value!r}")
        province = value[:3]
        if province not in id_provinces():
            raise InvalidInput.one(
                field,
                f"{province!r} is not a province code of birth registration (Circular 07/2016)",
            )
        marker = int(value[3])
        if marker not in _CENTURIES:
            raise InvalidInput.one(field, f"4th digit {marker} is not a century/gender code 0-5")
        gender = Gender.MALE if marker % 2 == 0 else Gender.FEMALE
        return cls(value, province, gender, _CENTURIES[marker] + int(value[4:6]))

    @staticmethod
    def all_valid(values: Sequence[str]) -> bool:
        """Whether `parse` accepts every one of `values` (a batch's ids in a few passes)."""
        digits = "".join(values)
        return (
            set(map(len, values)) == {12}
            and digits.isascii()
            and digits.isdigit()
            and set(map(_PROVINCE, values)).issubset(id_provinces())
            and set(map(_CENTURY, values)) <= _CENTURY_DIGITS
        )

    @staticmethod
    def compose(province_code: str, gender: Gender, birth_year: int, serial: int) -> str:
        """Builds an id from its parts; `serial` is the 6-digit random part."""
        century = (birth_year // 100 - 19) * 2 + (1 if gender is Gender.FEMALE else 0)
        return f"{province_code}{century}{birth_year % 100:02d}{serial:06d}"


def is_old_id_number(value: str) -> bool:
    """The old identity card (chứng minh nhân dân) number: 9 digits."""
    return len(value) == 9 and value.isascii() and value.isdigit()
