"""Feed cursors: opaque, URL-safe, and refused with a reason when they are not ours."""

from __future__ import annotations

import base64
import re

import pytest
from ndx_gateway.feed.cursor import Cursor


def test_a_cursor_survives_the_round_trip_and_is_url_safe() -> None:
    cursor = Cursor("ndx.population.citizen.v1", {0: 12, 5: 0, 3: 987_654_321})
    text = cursor.encode()
    assert re.fullmatch(r"[A-Za-z0-9._-]+", text)
    assert Cursor.decode(text) == cursor
    # Partitions in any order give the same text.
    assert Cursor(cursor.topic, dict(reversed(cursor.offsets.items()))).encode() == text


def _forged(body: str) -> str:
    return "c1." + base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-cursor",
        "c1.",
        "c1.!!!",
        "c2." + Cursor("t", {0: 1}).encode()[3:],
        _forged("{}"),
        _forged('["t"]'),
        _forged('["t", [[0, -1]]]'),
        _forged('["t", [[0, 1], [0, 2]]]'),
        _forged("[7, [[0, 1]]]"),
        _forged('["t", [["zero", 1]]]'),
        "c1." + "A" * 5000,
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a cursor of this gateway's feeds"):
        Cursor.decode(text)
