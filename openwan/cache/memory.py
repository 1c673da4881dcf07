"""In-process backends: fixed-window counters and a small TTL + LRU key/value store."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any


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

    def retry_after(self, key: str, window_seconds: int) -> int:
        """Whole seconds until ``key``'s current window ends (at least 1)."""
        with self._lock:
            start, _ = self._windows.get(key, (time.monotonic(), 0))
        return max(1, math.ceil(start + window_seconds - time.monotonic()))

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def _expire(self, now: float, window_seconds: int) -> None:
        for key in [k for k, (s, _) in self._windows.items() if now - s >= window_seconds]:
            del self._windows[key]


class MemoryStore:
    """Key/value with per-entry expiry and a size bound (least recently used goes first).

    Values are any Python objects; callers must treat them as immutable.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return entry[1]

    def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        return [self.get(key) for key in keys]

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
