"""Where to start or stop in a topic: an offset, a point in time, or a time that long ago."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# An offset (applied to every partition) or a time (Kafka's offsets-for-times per partition).
Position = int | datetime

_AGO = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
EXPECTED = (
    "an offset (1000), an ISO-8601 time (2026-01-05T10:00:00+07:00; local time without a zone) "
    "or a duration ago (30s, 15m, 2h, 7d)"
)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO-8601 time, or a duration ago; ValueError saying what is accepted."""
    text = text.strip()
    if m := _AGO.fullmatch(text):
        ago = timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
        return (now or datetime.now(UTC)) - ago
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: expected {EXPECTED}") from None
    # Like Kafka's own tools: a time without a zone is the machine's local time.
    return when if when.tzinfo else when.astimezone()


def parse_position(text: str) -> Position:
    """`--from`/`--to`: digits are an offset, anything else must be a time."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_time(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a position: expected {EXPECTED}") from None
