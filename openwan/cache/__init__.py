"""Shared counters and caches: Redis (ElastiCache) when configured, in-process otherwise.

- ``counters.hit(key, window_seconds)`` → hits in the current fixed window (rate limits,
  the login throttle), ``get``, ``reset``, ``retry_after``. With Redis the windows are shared
  by every task; while Redis is unreachable they fall back to this process's own counters.
- ``entities()`` → the versioned row cache (``openwan.cache.entities``), invalidated after
  commit whenever a watched model's rows change.
- ``configure(settings)`` picks the backend (the app and the CLI call it at start-up);
  ``close()`` undoes it. A Redis that goes away degrades to no cache, never to errors.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time

from openwan.cache.entities import EntityCache, set_provider, watch, watch_table
from openwan.cache.memory import Counters, MemoryStore
from openwan.cache.redisstore import (
    Breaker,
    RedisBackend,
    Unavailable,
    Watcher,
    decide_cluster,
    make_client,
)

__all__ = ["Counters", "MemoryStore", "SharedCounters", "configure", "close", "counters",
           "entities", "redis_backend", "watch", "watch_table"]

log = logging.getLogger("openwan.cache")


class SharedCounters:
    """``Counters``' interface, backed by Redis when configured, else in-process."""

    def __init__(self) -> None:
        self.local = Counters()
        self.backend: RedisBackend | None = None
        # key -> [synced at (monotonic), shared count then, seconds left then, hits not sent]
        self._batches: dict[str, list] = {}
        self._batch_lock = threading.Lock()

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> int:
        if self.backend is not None:
            try:
                return self.backend.hit(key, window_seconds, amount)[0]
            except Unavailable:
                pass  # the breaker logged it; count in this process meanwhile
        return self.local.hit(key, window_seconds, amount)

    def hit_with_retry(self, key: str, window_seconds: int, amount: int = 1, *,
                       sync_seconds: float = 0.0) -> tuple[int, int]:
        """``hit`` plus the seconds until the window ends (for ``Retry-After``).

        ``sync_seconds`` > 0 (large limits only, e.g. the per-IP request limit): with Redis,
        this process sends its hits on a key at most that often, one ``INCRBY`` for all, and
        answers in between from the last shared count plus its own hits. A Redis round trip
        per request would cost more than the request; the count misses at most the other
        tasks' hits of the last ``sync_seconds``.
        """
        if self.backend is not None:
            try:
                if sync_seconds > 0:
                    return self._batched(key, window_seconds, amount, sync_seconds)
                return self.backend.hit(key, window_seconds, amount)
            except Unavailable:
                pass
        count = self.local.hit(key, window_seconds, amount)
        return count, self.local.retry_after(key, window_seconds)

    def _batched(self, key: str, window_seconds: int, amount: int,
                 sync_seconds: float) -> tuple[int, int]:
        now = time.monotonic()
        with self._batch_lock:
            state = self._batches.get(key)
            if state is not None and now - state[0] < sync_seconds and now < state[0] + state[2]:
                state[3] += amount
                return state[1] + state[3], max(1, math.ceil(state[0] + state[2] - now))
            pending = (state[3] if state is not None else 0) + amount
            if state is not None:
                state[3] = 0  # sent now (dropped if Redis is gone: local counts then)
        try:
            count, ttl = self.backend.hit(key, window_seconds, pending)  # type: ignore[union-attr]
        except Unavailable:
            with self._batch_lock:
                self._batches.pop(key, None)
            raise
        with self._batch_lock:
            if len(self._batches) > 100_000:
                self._batches = {k: v for k, v in self._batches.items()
                                 if now - v[0] < window_seconds}
            state = self._batches.get(key)
            extra = state[3] if state is not None else 0  # hits counted meanwhile
            self._batches[key] = [now, count, max(1, ttl), extra]
        return count + extra, max(1, ttl)

    def get(self, key: str, window_seconds: int) -> int:
        if self.backend is not None:
            try:
                return self.backend.get_int(key)
            except Unavailable:
                pass
        return self.local.get(key, window_seconds)

    def retry_after(self, key: str, window_seconds: int) -> int:
        if self.backend is not None:
            try:
                return max(1, self.backend.ttl(key))
            except Unavailable:
                pass
        return self.local.retry_after(key, window_seconds)

    def reset(self, key: str) -> None:
        if self.backend is not None:
            with contextlib.suppress(Unavailable):  # the local counter is reset below anyway
                self.backend.delete_counter(key)
        self.local.reset(key)


counters = SharedCounters()
_entities = EntityCache()
_backend: RedisBackend | None = None
_watcher: Watcher | None = None
_configured_url: str | None = None
_lock = threading.Lock()

set_provider(lambda: _entities)


def _watch_core_models() -> None:
    from openwan.models import (
        Asset,
        AssetGroup,
        AuthSession,
        CatalogField,
        CatalogValue,
        Category,
        Group,
        Level,
        Permission,
        Role,
        SearchDocument,
        User,
        group_categories,
        group_roles,
        role_permissions,
        user_groups,
        user_roles,
    )

    watch(Asset, "asset")
    # Pages of listings (ids and totals per caller) hold until any asset changes.
    watch(Asset, "listing", whole=True)
    watch(AssetGroup, "listing", whole=True)
    # Search results hold, besides those, until the index or the catalogue schema changes
    # (an asset's document may be rewritten after its row, by a job).
    for model in (SearchDocument, CatalogValue, CatalogField):
        watch(model, "search", whole=True)
    # A user's row, and their own groups and roles (collections on the user row).
    watch(User, "user")
    # Login sessions: revoking one (or all of a user's, a bulk UPDATE) ends its access tokens
    # on the next request, in every process sharing the Redis.
    watch(AuthSession, "session")
    # The rights epoch: anything a user's resolved rights (``rules.Access``) depend on
    # beyond their own row. Changes are rare; every user's rights are resolved afresh.
    for model in (Group, Role, Permission, Category, Level):
        watch(model, "rights", whole=True)
    for table in (user_groups, user_roles, group_roles, group_categories, role_permissions):
        watch_table(table.name, "rights")


_watch_core_models()


def configure(settings) -> RedisBackend | None:
    """Use Redis when ``settings.redis`` names one (same settings: no-op). Never raises.

    The in-process state belongs to one database: other settings start it afresh.
    """
    global _backend, _entities, _configured_url, _watcher
    url = settings.redis.resolved_url()
    identity = f"{url}|{settings.database_url}"
    with _lock:
        if identity == _configured_url:
            _entities.ttl = settings.redis.cache_ttl_seconds
            return _backend
        _close_locked()
        _configured_url = identity
        if url is not None:
            breaker = Breaker(settings.redis.retry_after_seconds)
            cluster = decide_cluster(settings)
            _backend = RedisBackend(None, breaker, cluster=cluster,
                                    connect=lambda: make_client(settings, cluster=cluster))
        _entities = EntityCache(_backend, ttl=settings.redis.cache_ttl_seconds)
        counters.backend = _backend
        if _backend is not None:
            _watcher = Watcher(_backend)
        if _backend is not None:
            try:
                _backend.ping()
                log.info("cache and counters in Redis")
            except Unavailable:
                log.warning("Redis configured but not reachable; continuing without it")
    return _backend


def _close_locked() -> None:
    global _backend, _entities, _configured_url, _watcher
    if _watcher is not None:
        _watcher.stop()
        _watcher = None
    _entities.close()
    if _backend is not None:
        _backend.close()
    _backend = None
    _configured_url = None
    counters.backend = None
    counters.local.clear()
    counters._batches.clear()
    _entities = EntityCache()


def close() -> None:
    """Back to in-process counters and cache (tests, shutdown)."""
    with _lock:
        _close_locked()


def entities() -> EntityCache:
    return _entities


def redis_backend() -> RedisBackend | None:
    return _backend
