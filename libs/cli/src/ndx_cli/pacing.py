"""When each replayed record is due: the recorded gaps sped up, a fixed rate, or at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    """`speed`: the recorded gaps divided by it (10 = ten times faster); `rate`: records per
    second; neither: as fast as the broker takes them."""

    speed: float | None = None
    rate: float | None = None
    first_timestamp: int = 0  # ms; the earliest timestamp in the file, replayed at once

    def __post_init__(self) -> None:
        if self.speed is not None and self.rate is not None:
            raise ValueError("pace by --speed or by --rate, not both")
        for name, value in (("speed", self.speed), ("rate", self.rate)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be above 0, not {value}")

    @property
    def paced(self) -> bool:
        return self.speed is not None or self.rate is not None

    def due(self, index: int, timestamp: int) -> float:
        """Seconds after the replay's start at which record `index` (0-based, file order) with
        recorded `timestamp` (ms) may be produced. Records are sent in file order, so one due
        earlier than a record before it (an older timestamp on another partition) goes out
        right after that one; per-key order never bends to the clock."""
        if self.rate is not None:
            return index / self.rate
        if self.speed is not None:
            return max(0.0, (timestamp - self.first_timestamp) / 1000 / self.speed)
        return 0.0
