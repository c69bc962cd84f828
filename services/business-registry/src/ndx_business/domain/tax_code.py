"""Vietnamese tax codes (mã số thuế): 10 digits with a check digit, branches add -NNN."""

from __future__ import annotations

from stdnum.exceptions import ValidationError
from stdnum.vn import mst


def tax_code_violation(code: str) -> str | None:
    """Why `code` is not a valid enterprise tax code, or None when it is."""
    if len(code) != 10 or not code.isdigit():
        return "must be 10 digits"
    try:
        mst.validate(code)
    except ValidationError as e:
        return f"{code} is not a valid tax code: {e}"
    return None
