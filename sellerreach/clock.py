"""One notion of time for the client, the stand-in and the flows.

Production uses the system clock. The stand-in, the demo and the benchmarks share a scaled clock so that hours of
order flow and of Amazon quota pass in seconds; tests use a manual clock that only moves when told (or when
someone sleeps on it). Every rate limiter and backoff sleeps through the clock it was given.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; the unit of every rate limit."""

    def sleep(self, seconds: float) -> None:
        """Wait this many clock seconds."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass
class ScaledClock:
    """Runs `scale` times faster than the wall clock, starting at `start` (default: the wall clock now)."""

    scale: float
    start: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"time scale must be positive, got {self.scale}")
        self._origin = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._origin) * self.scale

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)


class ManualClock:
    """A clock that moves only through `advance` or `sleep`; sleeping returns at once. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds


_SHARED: dict[float, Clock] = {}
_SHARED_LOCK = threading.Lock()
_OVERRIDE: list[Clock] = []


def shared_clock(time_scale: float = 1.0) -> Clock:
    """The process's clock for a time scale: the system clock at 1, else one scaled clock shared by every caller,
    so that the stand-in and the client agree on the time and on the quota that has built up."""
    with _SHARED_LOCK:
        if _OVERRIDE:
            return _OVERRIDE[-1]
        if time_scale not in _SHARED:
            _SHARED[time_scale] = SystemClock() if time_scale == 1 else ScaledClock(time_scale)
        return _SHARED[time_scale]


class use_clock:  # noqa: N801  (a context manager, used like a function)
    """Make `shared_clock` return this clock inside the block: how a simulation in this process (the demo's
    stand-in, a test's manual clock) puts the flows on its time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __enter__(self) -> Clock:
        with _SHARED_LOCK:
            _OVERRIDE.append(self.clock)
        return self.clock

    def __exit__(self, *exc: object) -> None:
        with _SHARED_LOCK:
            _OVERRIDE.remove(self.clock)
