"""Feed cursors: where a subscriber stands in an aggregate's topic (the next offset of every
partition), as an opaque, URL-safe string that resumes the feed right after an event."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache

VERSION = "c1."
MAX_LENGTH = 4096


@dataclass(frozen=True)
class Cursor:
    topic: str
    # Partition -> offset of the next record to read.
    offsets: dict[int, int]

    def encode(self) -> str:
        # The compact JSON of [topic, [[partition, offset], ...]], written out by hand: every
        # delivered event gets a cursor, and json.dumps of the pairs costs several times more.
        pairs = ",".join([f"[{p},{o}]" for p, o in sorted(self.offsets.items())])
        body = f"[{_quoted(self.topic)},[{pairs}]]"
        return VERSION + base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor `encode` made; ValueError saying what is wrong for anything else."""
        if len(text) > MAX_LENGTH or not text.startswith(VERSION):
            raise ValueError("not a cursor of this gateway's feeds")
        body = text.removeprefix(VERSION)
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            topic, pairs = json.loads(raw)
            offsets = {int(p): int(o) for p, o in pairs}
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise ValueError("not a cursor of this gateway's feeds (damaged?)") from None
        if not isinstance(topic, str) or len(offsets) != len(pairs):
            raise ValueError("not a cursor of this gateway's feeds")
        if any(p < 0 or o < 0 for p, o in offsets.items()):
            raise ValueError("not a cursor of this gateway's feeds (negative position)")
        return cls(topic, offsets)


@lru_cache(maxsize=256)
def _quoted(topic: str) -> str:
    return json.dumps(topic)
