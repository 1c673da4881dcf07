"""Shared counters and a small cache: in-process by default (Redis-backed when configured).

The interface is what callers (rate limits, login throttling, hot reads) depend on; the
production-behaviour work backs it with Redis and degrades to in-process when Redis is away.
"""

from __future__ import annotations

import threading
import time


class Counters:
    """Fixed-window counters: ``hit`` returns how many hits ``key`` had in its current window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> int:
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= window_seconds:
                start, count = now, 0
            count += amount
            self._windows[key] = (start, count)
            if len(self._windows) > 100_000:
                self._expire(now, window_seconds)
            return count

    def get(self, key: str, window_seconds: int) -> int:
        with self._lock:
            start, count = self._windows.get(key, (0.0, 0))
            return count if time.monotonic() - start < window_seconds else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def _expire(self, now: float, window_seconds: int) -> None:
        for key in [k for k, (s, _) in self._windows.items() if now - s >= window_seconds]:
            del self._windows[key]


counters = Counters()
