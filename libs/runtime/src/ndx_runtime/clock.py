"""Time as a dependency, so that rules about dates can be tested on chosen days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    """The system clock; "today" is the civil date in Vietnam."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(VIETNAM).date()
