"""Redis (ElastiCache) behind a circuit breaker: short timeouts, and a Redis that failed is
left alone for a few seconds instead of being retried by every request.

Every call either returns Redis's answer or raises ``Unavailable`` at once; callers fall back
(no cache, in-process counters), so a dead Redis never becomes an error for a user.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import redis
from redis.exceptions import MovedError, RedisClusterException, RedisError

from openwan.observability.metrics import (
    CACHE_DEGRADED,
    REDIS_AVAILABLE,
    REDIS_CLUSTER_MISMATCH,
)

log = logging.getLogger("openwan.cache")
T = TypeVar("T")

# INCRBY and set the window's expiry on the first hit; answers (count, seconds left).
_HIT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {n, ttl}
"""


class Unavailable(Exception):
    """Redis is down or the breaker is open; use the fallback."""


def cluster_endpoint(host: str) -> bool:
    """Whether ``host`` is an ElastiCache configuration endpoint (cluster mode enabled):
    ``clustercfg.<name>.<id>.<region>.cache.amazonaws.com`` with in-transit encryption (the
    seed's), ``<name>.<id>.clustercfg.<region>.cache.amazonaws.com`` without."""
    return "clustercfg" in host.lower().rstrip(".").split(".")


def wants_cluster(settings) -> bool | None:
    """True or False when the settings decide (``OPENWAN_REDIS_CLUSTER`` true/false, or a
    configuration endpoint's name under ``auto``); None: ask the server."""
    cfg = settings.redis
    if cfg.cluster != "auto":
        return cfg.cluster == "true"
    url = cfg.resolved_url() or ""
    if cluster_endpoint(cfg.host or urlsplit(url).hostname or ""):
        return True
    return None


def server_is_cluster(client: redis.Redis) -> bool:
    """The server's own word (``INFO cluster``): any node of a cluster says cluster_enabled:1."""
    return bool(int(client.info("cluster").get("cluster_enabled", 0)))


def _options(settings) -> dict:
    cfg = settings.redis
    return dict(socket_timeout=cfg.socket_timeout, socket_connect_timeout=cfg.socket_timeout,
                health_check_interval=30, retry_on_timeout=False)


def _plain(settings) -> redis.Redis:
    cfg = settings.redis
    url = cfg.resolved_url()
    if url is None:
        raise ValueError("Redis is not configured")
    token = cfg.auth_token.get_secret_value() if cfg.auth_token else None
    client = redis.Redis.from_url(url, **_options(settings))
    if token and not client.connection_pool.connection_kwargs.get("password"):
        client = redis.Redis.from_url(url, password=token, **_options(settings))
    return client


def decide_cluster(settings) -> bool:
    """``wants_cluster``, else the server's answer; a plain client when it cannot be asked
    (a plain client that meets a cluster later says so: ``Breaker.moved``)."""
    decided = wants_cluster(settings)
    if decided is not None:
        return decided
    client = _plain(settings)
    try:
        asked = server_is_cluster(client)
    except (RedisError, OSError) as exc:
        log.warning("cannot ask Redis whether it runs a cluster (%s: %s); using a plain client "
                    "(OPENWAN_REDIS_CLUSTER=true or false decides)", type(exc).__name__, exc)
        return False
    finally:
        client.close()
    if asked:
        log.info("Redis runs in cluster mode; using the cluster client")
    return asked


def make_client(settings, cluster: bool | None = None) -> redis.Redis:
    """A client for ``settings.redis`` with TLS and AUTH as ElastiCache uses them; a cluster
    client when ``cluster`` (None: ``decide_cluster``)."""
    if cluster is None:
        cluster = decide_cluster(settings)
    if not cluster:
        return _plain(settings)
    from redis.cluster import RedisCluster

    cfg = settings.redis
    token = cfg.auth_token.get_secret_value() if cfg.auth_token else None
    return RedisCluster.from_url(cfg.resolved_url(), password=token, **_options(settings))


class Breaker:
    """Closed: calls go through. After a failure: open for ``retry_after`` seconds, during
    which calls fail at once; then one call is let through to probe (half-open)."""

    def __init__(self, retry_after: float, name: str = "redis") -> None:
        self.retry_after = retry_after
        self.name = name
        self._open_until = 0.0
        self._lock = threading.Lock()
        self._failed = False
        self.on_recover: Callable[[], None] | None = None
        # A plain client talking to a cluster: every keyed command may answer MOVED.
        self.cluster_mismatch = False

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    @property
    def failed(self) -> bool:
        """The last call failed and no call has succeeded since."""
        return self._failed

    def half_open(self) -> None:
        """Let the next call through now (a probe found Redis answering again)."""
        with self._lock:
            self._open_until = 0.0

    def moved(self, exc: Exception | None = None) -> None:
        """Redis runs a cluster but this client is a plain one: the shared cache, rate limits
        and lockouts would silently become per process. Said loudly, once, and kept in a
        metric and in ``/ready``."""
        first = not self.cluster_mismatch
        self.cluster_mismatch = True
        REDIS_CLUSTER_MISMATCH.set(1)
        CACHE_DEGRADED.set(1)
        if first:
            log.error("%s runs in cluster mode but OpenWan uses a plain client (%s); the cache, "
                      "rate limits and sign-in throttling are per process until "
                      "OPENWAN_REDIS_CLUSTER=true (or auto with the configuration endpoint)",
                      self.name, exc or "cluster_enabled:1")

    def call(self, fn: Callable[[], T]) -> T:
        if self._open_until and time.monotonic() < self._open_until:
            raise Unavailable(f"{self.name} unavailable (circuit open)")
        try:
            result = fn()
        except (RedisError, RedisClusterException, OSError) as exc:
            if isinstance(exc, MovedError):
                self.moved(exc)
            with self._lock:
                first = not self._failed
                self._failed = True
                self._open_until = time.monotonic() + self.retry_after
            REDIS_AVAILABLE.set(0)
            CACHE_DEGRADED.set(1)
            if first:
                log.warning("%s unavailable (%s: %s); serving without it for %.0f s at a time",
                            self.name, type(exc).__name__, exc, self.retry_after)
            raise Unavailable(str(exc)) from exc
        if self._failed:
            with self._lock:
                recovered, self._failed, self._open_until = self._failed, False, 0.0
            if recovered:
                REDIS_AVAILABLE.set(1)
                CACHE_DEGRADED.set(1 if self.cluster_mismatch else 0)
                log.warning("%s is back", self.name)
                if self.on_recover is not None:
                    # Invalidations may have been lost while it was away: recover first, then
                    # answer with a fresh result (the first one predates the recovery).
                    self.on_recover()
                    return self.call(fn)
        return result


class RedisBackend:
    """The operations OpenWan needs, each one round trip, all through the breaker."""

    def __init__(self, client: redis.Redis | None, breaker: Breaker, prefix: str = "ow:", *,
                 connect: Callable[[], redis.Redis] | None = None, cluster: bool = False) -> None:
        """``client``, or ``connect`` to make one on first use (a cluster client needs its
        nodes to answer when made: a Redis down at start-up must not stop the process)."""
        self.breaker = breaker
        self.prefix = prefix
        self._client = client
        self._connect = connect
        self._connect_lock = threading.Lock()
        self._cluster = not isinstance(client, redis.Redis) if client is not None else cluster
        if client is not None:
            self._hit = client.register_script(_HIT)
        REDIS_AVAILABLE.set(1)
        CACHE_DEGRADED.set(0)

    @property
    def cluster(self) -> bool:
        """Whether this is a cluster client (ElastiCache with cluster mode enabled)."""
        return self._cluster

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            with self._connect_lock:
                if self._client is None:
                    client = self._connect()  # type: ignore[misc]
                    self._hit = client.register_script(_HIT)
                    self._client = client
        return self._client

    def _k(self, key: str) -> str:
        return self.prefix + key

    def ping(self) -> bool:
        return bool(self.breaker.call(lambda: self.client.ping()))

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, int]:
        count, ttl = self.breaker.call(lambda: self._hit(
            keys=[self._k("cnt:" + key)], args=[amount, window_seconds], client=self.client))
        return int(count), int(ttl)

    def get_int(self, key: str) -> int:
        value = self.breaker.call(lambda: self.client.get(self._k("cnt:" + key)))
        return int(value) if value is not None else 0

    def ttl(self, key: str) -> int:
        return int(self.breaker.call(lambda: self.client.ttl(self._k("cnt:" + key))))

    def delete_counter(self, key: str) -> None:
        self.breaker.call(lambda: self.client.delete(self._k("cnt:" + key)))

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        full = [self._k(k) for k in keys]
        if self._cluster:
            return self.breaker.call(lambda: self.client.mget_nonatomic(full))
        return self.breaker.call(lambda: self.client.mget(full))

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self.breaker.call(lambda: self.client.set(self._k(key), value, ex=max(1, int(ttl))))

    def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        def run():
            pipe = self.client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self._k(key), value, ex=max(1, int(ttl)))
            return pipe.execute()

        self.breaker.call(run)

    def set_versions(self, items: dict[str, bytes], ttl: int, channel: str) -> None:
        """Store new version tokens, then announce their keys on ``channel`` (one trip)."""
        def run():
            pipe = self.client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self._k(key), value, ex=max(1, int(ttl)))
            if not self._cluster:  # a cluster client reads versions from Redis every time
                pipe.publish(self._k(channel), " ".join(items))
            return pipe.execute()

        self.breaker.call(run)

    def ensure(self, items: dict[str, bytes], ttl: int) -> list[bytes]:
        """Set each key that does not exist (``SET NX``); the value each key holds then."""
        names = list(items)

        def run():
            pipe = self.client.pipeline(transaction=False)
            for key in names:
                pipe.set(self._k(key), items[key], ex=max(1, int(ttl)), nx=True)
            for key in names:
                pipe.get(self._k(key))
            return pipe.execute()

        return self.breaker.call(run)[len(names):]

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self.breaker.call(lambda: self.client.delete(*[self._k(k) for k in keys]))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class Invalidations:
    """This process's subscription to the version changes every process announces.

    Read without blocking just before versions are used (``drain``): whatever another
    process announced before our request arrived is in our socket by then, so a version
    kept in memory is dropped before it could be used stale. Until the subscription is
    confirmed (at start, after a reconnection: messages may have been missed) nothing kept
    in memory is trusted.

    Most of the time nothing was announced: a zero-timeout ``poll`` of the subscription's
    socket (and a look at what redis-py has buffered) tells so for a fraction of what
    ``get_message`` costs, which is a good part of a cached read. It still reads at least
    every ``READ_SECONDS``, which runs redis-py's health check of the subscription.
    """

    READ_SECONDS = 1.0

    def __init__(self, backend: RedisBackend, channel: str) -> None:
        self.backend = backend
        self.channel = backend._k(channel)
        self._pubsub = None
        self._ready = False
        self._lock = threading.Lock()
        self._polled = None  # the socket ``_poll`` watches
        self._poll: select.poll | None = None
        self._read_at = 0.0

    def drain(self, forget: Callable[[list[str] | None], None]) -> bool:
        """Apply announced changes with ``forget(keys)`` (``None``: everything); whether the
        versions kept in memory can be trusted. Raises ``Unavailable``."""
        with self._lock:
            if self._ready and self._quiet():
                return True
            try:
                self._read_at = time.monotonic()
                return self.backend.breaker.call(lambda: self._drain(forget))
            except Unavailable:
                self._close()
                forget(None)
                raise

    def _drain(self, forget: Callable[[list[str] | None], None]) -> bool:
        if self._pubsub is None:
            pubsub = self.backend.client.pubsub()
            pubsub.subscribe(self.channel)
            pubsub.connection.register_connect_callback(self._reconnected)
            self._pubsub, self._ready = pubsub, False
        while True:
            message = self._pubsub.get_message(timeout=0)
            if message is None:
                return self._ready
            if message["type"] == "subscribe":
                # From here on nothing is missed; what was kept before may be stale.
                forget(None)
                self._ready = True
            elif message["type"] == "message":
                forget(message["data"].decode().split())

    def _quiet(self) -> bool:
        """Nothing arrived since the last drain: no bytes in the socket, none buffered by
        redis-py, Redis not held off by the breaker. False whenever that cannot be told (a
        redis-py whose connection looks different): then ``drain`` reads as always."""
        if (self._pubsub is None or self.backend.breaker.is_open
                or time.monotonic() - self._read_at > self.READ_SECONDS):
            return False
        connection = self._pubsub.connection
        sock = getattr(connection, "_sock", None)
        buffer = getattr(getattr(connection, "_parser", None), "_buffer", None)
        if sock is None or buffer is None or not hasattr(buffer, "unread_bytes") \
                or buffer.unread_bytes():
            return False
        if sock is not self._polled:  # first use, or a new socket after a reconnection
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN | select.POLLPRI)
            self._polled = sock
        return not self._poll.poll(0)  # type: ignore[union-attr]

    def _reconnected(self, _connection) -> None:
        # redis-py subscribes again on its own; trust nothing until that is confirmed.
        self._ready = False

    def _close(self) -> None:
        pubsub, self._pubsub, self._ready = self._pubsub, None, False
        self._polled = self._poll = None
        if pubsub is not None:
            try:
                pubsub.close()
            except (RedisError, OSError):
                log.debug("closing the invalidation subscription failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._close()


class Watcher:
    """Probes a Redis that failed, every second, until it answers: recovery
    (``Breaker.on_recover``: lost version moves sent, memory dropped) must wait neither for a
    request to come by nor for the breaker's open spell to end, or another process would keep
    serving what those moves retired. One PING a second while Redis is away costs nothing."""

    PROBE_SECONDS = 1.0

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openwan-redis-watcher",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        breaker = self.backend.breaker
        interval = max(0.05, min(breaker.retry_after, self.PROBE_SECONDS))
        while not self._stop.wait(interval):
            if not breaker.failed:
                continue
            try:
                self.backend.client.ping()  # past the breaker: is it back?
            except (RedisError, RedisClusterException, OSError):
                continue
            except Exception:  # the watcher must outlive any surprise; it is logged
                log.exception("Redis watcher: probe failed unexpectedly")
                continue
            breaker.half_open()
            try:
                self.backend.ping()  # through the breaker: runs the recovery
            except Unavailable:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
