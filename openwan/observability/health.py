"""Readiness checks: each dependency probed in a thread with a time limit, in parallel.

Readiness is the database, storage and the queue. The shared cache (Redis) is reported
beside them but never fails readiness: without it every request is still served.

A database behind a closed port fails at once; one that does not answer at all is reported
as timed out after ``OPENWAN_HEALTH_TIMEOUT`` (2 s) while its thread finishes in the
background (bounded by the driver's connect timeout).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from openwan.config import Settings

log = logging.getLogger("openwan.health")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openwan-health")

Check = Callable[[], None]


def _database(settings: Settings, replica: bool = False) -> Check:
    def check() -> None:
        from openwan.db import get_engine, get_read_engine

        engine = get_read_engine(settings) if replica else get_engine(settings)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return check


def _storage(settings: Settings) -> Check:
    def check() -> None:
        from openwan.storage import get_storage

        get_storage(settings).ping()

    return check


def _queue_check(settings: Settings) -> Check | None:
    """The media pipeline's queue, when this build has one (``openwan.queue``)."""
    if importlib.util.find_spec("openwan.queue") is None:
        return None
    module = importlib.import_module("openwan.queue")
    get_queue = getattr(module, "get_queue", None)
    if get_queue is None:
        return None

    def check() -> None:
        queue = get_queue(settings)
        ping = getattr(queue, "ping", None)
        if ping is not None:
            ping()

    return check


def _cache(settings: Settings) -> Check | None:
    """The shared cache: not part of readiness (every request is served without it), but
    reported (``cache`` in ``/ready``, the ``openwan_cache_degraded`` metric, a log line)."""
    if settings.redis.resolved_url() is None:
        return None

    def check() -> None:
        from openwan import cache

        backend = cache.redis_backend() or cache.configure(settings)
        if backend is None:
            raise RuntimeError("Redis client not configured")
        # Straight to the client, past the breaker: report what is true now.
        client = backend.client
        client.ping()
        if not backend.cluster:
            from openwan.cache.redisstore import server_is_cluster

            if backend.breaker.cluster_mismatch or server_is_cluster(client):
                backend.breaker.moved()
                raise RuntimeError("Redis runs in cluster mode but the client is a plain one "
                                   "(set OPENWAN_REDIS_CLUSTER=true)")

    return check


def checks_for(settings: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": _database(settings)}
    if settings.db.replica_url:
        checks["database_replica"] = _database(settings, replica=True)
    checks["storage"] = _storage(settings)
    queue = _queue_check(settings)
    if queue is not None:
        checks["queue"] = queue
    return checks


_cache_state = "ok"


async def cache_state(settings: Settings, timeout: float) -> str | None:
    """``ok``, ``degraded: <why>``, or None when no shared cache is configured. Sets the
    ``openwan_cache_degraded`` metric and logs each change of state."""
    global _cache_state
    from openwan.observability.metrics import CACHE_DEGRADED

    check = _cache(settings)
    if check is None:
        return None
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(_pool, check), timeout)
        state = "ok"
    except TimeoutError:
        state = f"degraded: timed out after {timeout:g} s"
    except Exception as exc:  # reported in the answer, the metric and the log
        state = f"degraded: {exc}" if isinstance(exc, RuntimeError) \
            else f"degraded: {type(exc).__name__}"
    CACHE_DEGRADED.set(0 if state == "ok" else 1)
    if state != _cache_state:
        if state == "ok":
            log.warning("cache: Redis is usable again")
        else:
            log.warning("cache %s; serving with per-process cache and counters", state)
        _cache_state = state
    return state


async def run_checks(checks: dict[str, Check], timeout: float) -> dict[str, str]:
    loop = asyncio.get_running_loop()

    async def one(name: str, check: Check) -> tuple[str, str]:
        try:
            await asyncio.wait_for(loop.run_in_executor(_pool, check), timeout)
            return name, "ok"
        except TimeoutError:
            log.warning("readiness: %s timed out after %.1f s", name, timeout)
            return name, f"failed: timed out after {timeout:g} s"
        except Exception as exc:  # each failure is reported in the answer, and logged
            log.warning("readiness: %s failed: %s: %s", name, type(exc).__name__, exc)
            return name, f"failed: {type(exc).__name__}"

    results = await asyncio.gather(*(one(n, c) for n, c in checks.items()))
    return dict(results)
