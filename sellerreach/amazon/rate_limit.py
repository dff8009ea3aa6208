"""Token buckets for SP-API usage plans, one per (operation, selling-partner account).

Amazon's usage plans are token buckets: `burst` tokens at most, refilled at `rate` tokens a second. The client
waits for a token before each call (so it rarely sees a 429) and follows the `x-amzn-RateLimit-Limit` header when
Amazon announces a different rate. The stand-in uses the same class to decide when to answer 429.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sellerreach.clock import Clock

_EPSILON = 1e-9


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # tokens per second
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"usage plan needs rate > 0 and burst >= 1, got {self.rate}/{self.burst}")


class TokenBucket:
    """A token bucket on an injectable clock. Thread-safe; starts full."""

    def __init__(self, plan: UsagePlan, clock: Clock) -> None:
        self._clock = clock
        self._rate = plan.rate
        self._burst = float(plan.burst)
        self._tokens = float(plan.burst)
        self._stamp = clock.monotonic()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return int(self._burst)

    def _refill(self) -> None:
        now = self._clock.monotonic()
        if now > self._stamp:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = max(self._stamp, now)

    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self) -> float:
        """Take a token if one is there. Returns 0.0 on success, else the seconds until one will be."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0 - _EPSILON:  # float refill can land a hair under a whole token
                self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return (1.0 - self._tokens) / self._rate

    def acquire(self) -> float:
        """Wait (on the clock) until a token is free and take it. Returns the seconds waited."""
        waited = 0.0
        while (wait := self.try_acquire()) > 0:
            self._clock.sleep(wait)
            waited += wait
        return waited

    def set_rate(self, rate: float) -> None:
        """Follow a rate announced by `x-amzn-RateLimit-Limit`; tokens already earned are kept."""
        if rate <= 0:
            return
        with self._lock:
            self._refill()
            self._rate = rate

    def drain(self) -> None:
        """Empty the bucket: after a 429 the server's bucket is empty, so ours should be too."""
        with self._lock:
            self._refill()
            self._tokens = 0.0
