"""A ceiling on the calls a gateway process has in flight to each registry service.

A registry that hangs holds at most `limit` of the gateway's calls (each until its deadline);
calls to it beyond that are refused at once instead of piling up, so that the calls to the
other registries keep being served.

The refusal is RESOURCE_EXHAUSTED, as the gateway's other capacity limits (quotas, open
feeds) are, with a RetryInfo; UNAVAILABLE stays what it is elsewhere in the gateway: its audit
log cannot be written. The policy allowed such a call, so it is audited as allowed, with the
status it ended with, as a call the registry itself failed is.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from ndx_runtime.grpc_errors import resource_exhausted

# What a refused caller is told to wait: slots free up as the calls holding them end.
RETRY_SECONDS = 1


class InFlightLimit:
    """Counts the calls in flight per upstream service; `enter` says whether one more may go."""

    def __init__(self, limit: int, on_refused: Callable[[str], None] | None = None) -> None:
        if limit < 1:
            raise ValueError(f"the in-flight limit must be at least 1, got {limit}")
        self.limit = limit
        self._on_refused = on_refused
        self._counts: dict[str, int] = {}

    def in_flight(self, upstream: str) -> int:
        return self._counts.get(upstream, 0)

    def enter(self, upstream: str) -> bool:
        """Takes a slot of `upstream`; False (taking none) when all `limit` are taken. A True
        must be matched by one `leave`."""
        count = self._counts.get(upstream, 0)
        if count >= self.limit:
            if self._on_refused is not None:
                self._on_refused(upstream)
            return False
        self._counts[upstream] = count + 1
        return True

    def leave(self, upstream: str) -> None:
        self._counts[upstream] -= 1


def upstream_busy(upstream: str, limit: int) -> grpc.Status:
    """RESOURCE_EXHAUSTED naming the registry service that has `limit` calls in flight."""
    return resource_exhausted(
        f"{upstream} has {limit} calls in flight from this gateway, the most it takes; "
        f"retry in {RETRY_SECONDS} s",
        retry_after=RETRY_SECONDS,
        subject=f"upstream/{upstream}",
        limit=f"{limit} calls in flight at most",
        reason="UPSTREAM_BUSY",
        metadata={"upstream": upstream, "max_in_flight": str(limit)},
    )
