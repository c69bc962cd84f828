"""The gateway's decision counter keeps its labels to what the policy names, and each worker
process serves its metrics on a port of its own."""

from __future__ import annotations

from ndx_gateway.config import GatewaySettings
from ndx_gateway.entrypoint import worker_settings
from ndx_gateway.metrics import GatewayMetrics
from ndx_gateway.policy import DEFAULT_POLICY
from ndx_gateway.policy_source import PolicySource
from prometheus_client import generate_latest

from ndx.gateway.v1 import audit_pb2
from ndx_runtime.contracts import load_contracts
from ndx_runtime.metrics import Metrics

ALLOW, DENY = audit_pb2.DECISION_ALLOW, audit_pb2.DECISION_DENY


def test_agencies_and_purposes_the_policy_does_not_name_count_as_other() -> None:
    metrics = Metrics()
    counted = GatewayMetrics(metrics, PolicySource(DEFAULT_POLICY, load_contracts()), "audit")
    for agency, purpose, decision in [
        ("tax-authority", "tax-registration", ALLOW),
        ("tax-authority", "tax-registration", DENY),
        ("tax-authority", "made-up-1", DENY),
        ("tax-authority", "made-up-2", DENY),
        ("operator/ndx-admin", "anything", DENY),
        ("", "", DENY),
    ]:
        counted.decided(audit_pb2.AuditRecord(agency=agency, purpose=purpose, decision=decision))

    def decisions(agency: str, purpose: str, decision: str) -> float | None:
        return metrics.registry.get_sample_value(
            "ndx_gateway_policy_decisions_total",
            {"agency": agency, "purpose": purpose, "decision": decision},
        )

    assert decisions("tax-authority", "tax-registration", "allow") == 1
    assert decisions("tax-authority", "tax-registration", "deny") == 1
    assert decisions("tax-authority", "other", "deny") == 2
    assert decisions("other", "other", "deny") == 2
    text = generate_latest(metrics.registry).decode()
    assert "made-up" not in text and "ndx-admin" not in text


def test_each_worker_serves_metrics_on_its_own_port() -> None:
    settings = GatewaySettings(metrics_port=9451, workers=2)
    assert [worker_settings(settings, n).metrics_port for n in (0, 1)] == [9452, 9453]
    for port in (None, 0):
        unset = GatewaySettings(metrics_port=port, workers=2)
        assert worker_settings(unset, 1).metrics_port == port
