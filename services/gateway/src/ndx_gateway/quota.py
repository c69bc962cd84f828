"""Quotas per agency and purpose: token buckets refilled at the policy's rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .policy.document import Quota


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float


class Quotas:
    """`take(key, quota)` spends one request of the quota, or says how long to wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: tuple[str, str], quota: Quota | None) -> float:
        """0.0 when the call may go ahead, otherwise the seconds until it could."""
        if quota is None:
            return 0.0
        now = self._clock()
        capacity, rate = float(quota.requests), quota.requests / quota.per_seconds
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            # New, or the policy changed the quota: start full at the new size.
            bucket = self._buckets[key] = _Bucket(capacity, rate, capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate
