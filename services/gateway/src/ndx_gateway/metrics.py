"""What the gateway counts beside calls and events: access decisions, audit writes, feeds.

Agencies and purposes are labels only as far as the policy names them: anything else a
caller sends (a made-up purpose, a certificate the policy does not know) counts as "other",
so that callers cannot grow the number of series.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from prometheus_client import Counter, Gauge

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.metrics import Metrics

from .policy_source import PolicySource
from .upstream_limit import InFlightLimit

OTHER = "other"
_DECISIONS = {audit_pb2.DECISION_ALLOW: "allow", audit_pb2.DECISION_DENY: "deny"}


class GatewayMetrics:
    def __init__(self, metrics: Metrics, policy: PolicySource, audit_topic: str) -> None:
        registry = metrics.registry
        self.runtime = metrics
        self.policy = policy
        self.decisions = Counter(
            "ndx_gateway_policy_decisions",
            "Calls and feeds decided (each one audited), by agency, purpose and decision; "
            "what the policy does not name counts as other.",
            ["agency", "purpose", "decision"],
            registry=registry,
        )
        self.audit_failures = Counter(
            "ndx_gateway_audit_write_failures",
            "Audit records Kafka did not acknowledge in time; each failed its call.",
            registry=registry,
        )
        self.audit_written = metrics.events_published.labels(audit_topic)
        self.feed_events = Counter(
            "ndx_gateway_feed_events_delivered",
            "Change events sent to agencies' feeds, by aggregate and agency.",
            ["aggregate", "agency"],
            registry=registry,
        )
        self.open_feeds = Gauge(
            "ndx_gateway_open_feeds", "Feeds open in this process.", registry=registry
        )
        self.upstream_refused = Counter(
            "ndx_gateway_upstream_busy_refusals",
            "Calls refused at once (RESOURCE_EXHAUSTED, UPSTREAM_BUSY) because their registry "
            "service had upstream_max_in_flight calls in flight from this process, by service.",
            ["upstream"],
            registry=registry,
        )
        self.upstream_in_flight = Gauge(
            "ndx_gateway_upstream_in_flight",
            "Calls in flight from this process to each registry service.",
            ["upstream"],
            registry=registry,
        )
        policy_error = Gauge(
            "ndx_gateway_policy_refused",
            "1 while the policy file on disk was refused and the previous policy stays in force.",
            registry=registry,
        )
        policy_error.set_function(lambda: 0.0 if policy.last_error is None else 1.0)
        self._decided: dict[tuple[str, str, int], Any] = {}

    def decided(self, record: audit_pb2.AuditRecord) -> None:
        """Counts the decision an audit record holds."""
        policy = self.policy.current
        agency, purpose = record.agency, record.purpose
        if agency not in policy.agencies:
            agency = purpose = OTHER
        elif (agency, purpose) not in policy.grants:
            purpose = OTHER
        key = (agency, purpose, record.decision)
        counter = self._decided.get(key)
        if counter is None:
            decision = _DECISIONS.get(record.decision, "unspecified")
            counter = self._decided[key] = self.decisions.labels(agency, purpose, decision)
        counter.inc()

    def follow_in_flight(self, limit: InFlightLimit, upstreams: Iterable[str]) -> None:
        """Reports the calls in flight to each of `upstreams` (a bounded set: the configured
        registry services) at every scrape."""
        for upstream in upstreams:
            gauge = self.upstream_in_flight.labels(upstream)
            gauge.set_function(partial(limit.in_flight, upstream))

    def upstream_busy(self, upstream: str) -> None:
        self.upstream_refused.labels(upstream).inc()

    def delivered(self, aggregate: str, agency: str, events: int) -> None:
        self.feed_events.labels(aggregate, agency).inc(events)
