"""Token buckets on a manual clock: never sleep, never flaky."""

from __future__ import annotations

import pytest

from sellerreach.amazon.models import operation, parse_usage_plan
from sellerreach.amazon.rate_limit import TokenBucket, UsagePlan
from sellerreach.clock import ManualClock


def test_bucket_gives_burst_then_waits_one_token_interval():
    clock = ManualClock()
    bucket = TokenBucket(UsagePlan(rate=0.5, burst=3), clock)
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(2.0)
    clock.advance(1.0)
    assert bucket.try_acquire() == pytest.approx(1.0)
    clock.advance(1.0)
    assert bucket.try_acquire() == 0.0


def test_acquire_sleeps_on_the_clock_for_exactly_the_missing_time():
    clock = ManualClock()
    bucket = TokenBucket(UsagePlan(rate=0.0056, burst=20), clock)
    for _ in range(20):
        assert bucket.acquire() == 0.0
    waited = bucket.acquire()
    assert waited == pytest.approx(1 / 0.0056)
    assert clock.monotonic() == pytest.approx(1 / 0.0056)


def test_refill_never_exceeds_burst():
    clock = ManualClock()
    bucket = TokenBucket(UsagePlan(rate=1.0, burst=5), clock)
    bucket.acquire()
    clock.advance(10_000)
    assert bucket.tokens() == pytest.approx(5.0)


def test_rate_header_changes_the_refill_rate_but_keeps_earned_tokens():
    clock = ManualClock()
    bucket = TokenBucket(UsagePlan(rate=1.0, burst=2), clock)
    bucket.acquire()
    bucket.acquire()
    clock.advance(0.5)  # half a token earned at the old rate
    bucket.set_rate(0.25)
    assert bucket.tokens() == pytest.approx(0.5)
    assert bucket.try_acquire() == pytest.approx(0.5 / 0.25)


def test_drain_empties_the_bucket_after_a_429():
    clock = ManualClock()
    bucket = TokenBucket(UsagePlan(rate=2.0, burst=10), clock)
    bucket.drain()
    assert bucket.try_acquire() == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("operation_id", "rate", "burst"),
    [
        ("searchOrders", 0.0056, 20),
        ("getOrder", 0.5, 30),
        ("createRestrictedDataToken", 1.0, 10),
        ("getSolicitationActionsForOrder", 1.0, 5),
        ("createProductReviewAndSellerFeedbackSolicitation", 1.0, 5),
    ],
)
def test_usage_plans_come_from_the_vendored_models(operation_id, rate, burst):
    assert operation(operation_id).usage_plan == UsagePlan(rate, burst)


def test_usage_plan_parser_reads_the_table_after_the_heading():
    text = (
        "Returns orders.\n\n**Usage Plan:**\n\n"
        "| Rate (requests per second) | Burst |\n| ---- | ---- |\n| 0.0167 | 20 |\n"
    )
    assert parse_usage_plan(text) == UsagePlan(0.0167, 20)
    with pytest.raises(ValueError):
        parse_usage_plan("no table here")


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_nonsense_usage_plans_are_refused(rate, burst):
    with pytest.raises(ValueError):
        UsagePlan(rate, burst)
