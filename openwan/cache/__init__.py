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
import threading

from openwan.cache.entities import EntityCache, set_provider, watch, watch_table
from openwan.cache.memory import Counters, MemoryStore
from openwan.cache.redisstore import Breaker, RedisBackend, Unavailable, make_client

__all__ = ["Counters", "MemoryStore", "SharedCounters", "configure", "close", "counters",
           "entities", "redis_backend", "watch", "watch_table"]

log = logging.getLogger("openwan.cache")


class SharedCounters:
    """``Counters``' interface, backed by Redis when configured, else in-process."""

    def __init__(self) -> None:
        self.local = Counters()
        self.backend: RedisBackend | None = None

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> int:
        if self.backend is not None:
            try:
                return self.backend.hit(key, window_seconds, amount)[0]
            except Unavailable:
                pass  # the breaker logged it; count in this process meanwhile
        return self.local.hit(key, window_seconds, amount)

    def hit_with_retry(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, int]:
        """``hit`` plus the seconds until the window ends (for ``Retry-After``)."""
        if self.backend is not None:
            try:
                return self.backend.hit(key, window_seconds, amount)
            except Unavailable:
                pass
        count = self.local.hit(key, window_seconds, amount)
        return count, self.local.retry_after(key, window_seconds)

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
_configured_url: str | None = None
_lock = threading.Lock()

set_provider(lambda: _entities)


def _watch_core_models() -> None:
    from openwan.models import (
        Asset,
        AssetGroup,
        AuthSession,
        Category,
        Group,
        Level,
        Permission,
        Role,
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
    global _backend, _entities, _configured_url
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
            _backend = RedisBackend(make_client(settings), breaker)
        _entities = EntityCache(_backend, ttl=settings.redis.cache_ttl_seconds)
        counters.backend = _backend
        if _backend is not None:
            try:
                _backend.ping()
                log.info("cache and counters in Redis")
            except Unavailable:
                log.warning("Redis configured but not reachable; continuing without it")
    return _backend


def _close_locked() -> None:
    global _backend, _entities, _configured_url
    if _backend is not None:
        _backend.close()
    _backend = None
    _configured_url = None
    counters.backend = None
    counters.local.clear()
    _entities = EntityCache()


def close() -> None:
    """Back to in-process counters and cache (tests, shutdown)."""
    with _lock:
        _close_locked()


def entities() -> EntityCache:
    return _entities


def redis_backend() -> RedisBackend | None:
    return _backend
