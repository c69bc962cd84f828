"""Quotas: a token bucket per agency and purpose, on a clock the test moves by hand."""

from __future__ import annotations

import pytest
from ndx_gateway.policy.document import Quota
from ndx_gateway.quota import Quotas

TAX = ("tax-authority", "tax-registration")


class Clock:
    """Stands still until told to move."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quotas(clock: Clock) -> Quotas:
    return Quotas(clock=clock)


def test_no_quota_is_unlimited(quotas: Quotas) -> None:
    assert all(quotas.take(TAX, None) == 0.0 for _ in range(10_000))


def test_a_full_bucket_allows_a_burst_of_its_size_then_says_how_long_to_wait(
    quotas: Quotas,
) -> None:
    quota = Quota(requests=3, per_seconds=60)  # one token every 20 s
    assert [quotas.take(TAX, quota) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert quotas.take(TAX, quota) == pytest.approx(20.0)
    # Refused calls spend nothing: the wait stays the same.
    assert quotas.take(TAX, quota) == pytest.approx(20.0)


def test_tokens_come_back_at_the_quota_rate(quotas: Quotas, clock: Clock) -> None:
    quota = Quota(requests=3, per_seconds=60)
    for _ in range(3):
        quotas.take(TAX, quota)
    clock.advance(5)
    assert quotas.take(TAX, quota) == pytest.approx(15.0)
    clock.advance(15)
    assert quotas.take(TAX, quota) == 0.0
    assert quotas.take(TAX, quota) == pytest.approx(20.0)


def test_a_long_pause_refills_no_more_than_the_bucket_holds(quotas: Quotas, clock: Clock) -> None:
    quota = Quota(requests=2, per_seconds=10)
    quotas.take(TAX, quota)
    clock.advance(3600)
    assert [quotas.take(TAX, quota) for _ in range(2)] == [0.0, 0.0]
    assert quotas.take(TAX, quota) > 0.0


def test_each_agency_and_purpose_has_its_own_bucket(quotas: Quotas) -> None:
    quota = Quota(requests=1, per_seconds=60)
    assert quotas.take(TAX, quota) == 0.0
    assert quotas.take(TAX, quota) > 0.0
    assert quotas.take(("tax-authority", "tax-audit"), quota) == 0.0
    assert quotas.take(("police", "tax-registration"), quota) == 0.0
    assert quotas.take(TAX, quota) > 0.0


def test_a_changed_quota_starts_a_full_bucket_of_the_new_size(quotas: Quotas) -> None:
    small = Quota(requests=1, per_seconds=60)
    assert quotas.take(TAX, small) == 0.0
    assert quotas.take(TAX, small) > 0.0
    larger = Quota(requests=2, per_seconds=60)
    assert [quotas.take(TAX, larger) for _ in range(2)] == [0.0, 0.0]
    assert quotas.take(TAX, larger) == pytest.approx(30.0)
