"""Readiness checks: each dependency probed in a thread with a time limit, in parallel.

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


def _redis(settings: Settings) -> Check | None:
    if settings.redis.resolved_url() is None:
        return None

    def check() -> None:
        from openwan import cache

        backend = cache.redis_backend() or cache.configure(settings)
        if backend is None:
            raise RuntimeError("Redis client not configured")
        # Straight to the client, past the breaker: readiness reports what is true now.
        backend.client.ping()

    return check


def checks_for(settings: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": _database(settings)}
    if settings.db.replica_url:
        checks["database_replica"] = _database(settings, replica=True)
    checks["storage"] = _storage(settings)
    queue = _queue_check(settings)
    if queue is not None:
        checks["queue"] = queue
    redis = _redis(settings)
    if redis is not None:
        checks["redis"] = redis
    return checks


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
