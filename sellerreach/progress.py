"""Progress of long work, for whoever shows it (the CLI's progress bars); a no-op when nobody listens."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_listeners: list[Callable[[Any], None]] = []
_lock = threading.Lock()


def subscribe(listener: Callable[[Any], None]) -> Callable[[], None]:
    """Call `listener` with every published progress event; returns the function that unsubscribes it."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def publish(event: Any) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event)
