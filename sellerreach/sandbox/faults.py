"""Faults the SP-API stand-in serves on request: 429 storms, 5xx failures and revoked authorisations.

A test arms the plan (`throttle("searchOrders", 3)`) and the server serves the next three `searchOrders`
calls as 429, whoever makes them; counts go down as faults are served. Faults queue in the order armed.
"""

from __future__ import annotations

import threading
from collections import deque

# The operation id under which faults for the LWA token endpoint are armed (LWA is not in the SP-API models).
LWA_OPERATION = "lwaToken"


class FaultPlan:
    """Thread-safe queue of faults per operation id, plus the set of refresh tokens LWA refuses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, deque[int]] = {}
        self._revoked: set[str] = set()

    def throttle(self, operation_id: str, count: int) -> None:
        """The next `count` calls of that operation answer 429 QuotaExceeded (a "429 storm")."""
        self._arm(operation_id, count, 429)

    def fail(self, operation_id: str, count: int, status: int = 500) -> None:
        """The next `count` calls of that operation answer `status`: 500 InternalFailure or 503
        ServiceUnavailable."""
        if status not in (500, 503):
            raise ValueError(f"injected failures are 500 or 503, got {status}")
        self._arm(operation_id, count, status)

    def revoke(self, refresh_token: str) -> None:
        """LWA answers 400 invalid_grant for this refresh token from now on (the seller revoked the app)."""
        with self._lock:
            self._revoked.add(refresh_token)

    def reinstate(self, refresh_token: str) -> None:
        with self._lock:
            self._revoked.discard(refresh_token)

    def is_revoked(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token in self._revoked

    def take(self, operation_id: str) -> int | None:
        """The HTTP status of the next armed fault for that operation, consuming it; None if none is armed."""
        with self._lock:
            queue = self._pending.get(operation_id)
            if not queue:
                return None
            return queue.popleft()

    def pending(self, operation_id: str) -> int:
        """How many faults are still armed for that operation."""
        with self._lock:
            return len(self._pending.get(operation_id, ()))

    def clear(self) -> None:
        """Disarm every queued fault (revocations stay)."""
        with self._lock:
            self._pending.clear()

    def _arm(self, operation_id: str, count: int, status: int) -> None:
        if count < 0:
            raise ValueError(f"fault count must be >= 0, got {count}")
        with self._lock:
            self._pending.setdefault(operation_id, deque()).extend([status] * count)
