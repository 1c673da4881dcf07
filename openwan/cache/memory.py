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

    def __init__(self, max_entries: int = 20_000, max_bytes: int | None = None) -> None:
        self.max_entries = max_entries
        # With ``max_bytes``, values are ``bytes`` and their total length is bounded too.
        self.max_bytes = max_bytes
        self._bytes = 0
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                self._drop(key)
                return None
            self._data.move_to_end(key)
            return entry[1]

    def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        """``get`` for each key, under one lock and one clock reading."""
        found: list[Any | None] = []
        now = time.monotonic()
        with self._lock:
            data = self._data
            for key in keys:
                entry = data.get(key)
                if entry is None:
                    found.append(None)
                elif entry[0] < now:
                    self._drop(key)
                    found.append(None)
                else:
                    data.move_to_end(key)
                    found.append(entry[1])
        return found

    def set(self, key: str, value: Any, ttl: float) -> None:
        if self.max_bytes is not None and len(value) > self.max_bytes // 8:
            return  # one value may not push out most of the others
        with self._lock:
            self._drop(key)
            self._data[key] = (time.monotonic() + ttl, value)
            if self.max_bytes is not None:
                self._bytes += len(value)
            while len(self._data) > self.max_entries or (
                    self.max_bytes is not None and self._bytes > self.max_bytes):
                self._drop(next(iter(self._data)))

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key, None)
        if entry is not None and self.max_bytes is not None:
            self._bytes -= len(entry[1])

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)
