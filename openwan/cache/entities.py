"""A versioned cache of rows (assets, users, rights…), invalidated after commit.

Keys carry versions: a value is stored under ``e:{kind}:{id}:{generation}.{version}``, where
``version`` is per row and ``generation`` per kind. A writer changes the version only after
its transaction commits (SQLAlchemy session events, so every ORM change is seen — the API's,
the worker's, the importer's). Why that is enough:

- a reader that read the old version before the commit may store the old row, but under the
  old key, which nobody asks for once the version moved;
- a reader that read the new version reads the database after the commit, so sees the new row;
- a rolled-back change never moves the version, so nothing is invalidated or made stale;
- bulk ``UPDATE``/``DELETE`` through the ORM move the whole kind's generation.

Values under a versioned key never change, so each process keeps a small in-memory copy too
(L1): with Redis, a warm read costs one ``MGET`` of the version keys. Versions are random
tokens (not counters), so a version key evicted by Redis cannot make an old value current
again, and a version Redis does not hold is created as a random one too (never read as "0"),
so a Redis that restarts empty cannot either. Values expire after ``OPENWAN_CACHE_TTL`` in
any case. Version moves that cannot reach Redis (an outage, a partition) are kept and sent
when it answers again, and the process then drops whatever it kept in memory.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from openwan.cache.memory import MemoryStore
from openwan.cache.redisstore import Invalidations, RedisBackend, Unavailable
from openwan.observability.metrics import CACHE_REQUESTS

log = logging.getLogger("openwan.cache")

_CHANGED = "openwan_cache_changed"
# In-process values are never older than this, so even a second process without Redis
# (``openwan serve`` beside ``openwan worker`` on one host) sees changes within a minute.
LOCAL_TTL = 60.0
# Entries loaded together (a warm-up, a page) expire spread over the last part of their
# lifetime, not all at once: a burst of reloads would stall every request in flight.
_SPREAD = 0.2
# Rendered response bodies (pages of a listing, search results) kept per process.
BODY_BYTES = 32 * 1024 * 1024
# The channel on which every process announces the version keys it moved.
INVALIDATIONS = "versions"


_COUNTERS: dict[tuple[str, str], Any] = {}


def _counter(kind: str, result: str) -> Any:
    """The labelled metric child, looked up once (``labels`` costs more than ``inc``)."""
    child = _COUNTERS.get((kind, result))
    if child is None:
        child = _COUNTERS[kind, result] = CACHE_REQUESTS.labels(kind, result)
    return child


def _token() -> str:
    return secrets.token_hex(6)


class EntityCache:
    """Rows by (kind, id) with versioned keys; Redis-backed when given a backend."""

    def __init__(self, backend: RedisBackend | None = None, ttl: int = 300,
                 local_entries: int = 20_000) -> None:
        self.backend = backend
        self.ttl = ttl
        self.local = MemoryStore(local_entries)
        self.bodies = MemoryStore(local_entries, max_bytes=BODY_BYTES)
        # Versions when there is no Redis: this process is the only writer that matters.
        self._versions: dict[str, str] = {}
        self._kinds: set[str] = set()
        # With Redis: versions kept in memory, dropped when any process announces a change
        # (``Invalidations``), so a warm read needs no round trip at all.
        self._seen: dict[str, tuple[str, float]] = {}
        self._forgotten = 0  # moves whenever ``_seen`` loses entries
        self._seen_lock = threading.Lock()
        self.invalidations: Invalidations | None = None
        # Version moves that could not reach Redis: sent again as soon as it answers.
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        if backend is not None:
            backend.breaker.on_recover = self.recover
            if not backend._cluster:
                self.invalidations = Invalidations(backend, INVALIDATIONS)

    # -- versions ----------------------------------------------------------------------------

    def _version_keys(self, kind: str, ids: Sequence[Any]) -> list[str]:
        return [f"v:{kind}:*", *(f"v:{kind}:{i}" for i in ids)]

    def tokens(self, items: Sequence[tuple[str, Any]]) -> list[str] | None:
        """The current version token of each (kind, id); None when Redis is unreachable."""
        keys: list[str] = []
        for kind, ident in items:
            self._kinds.add(kind)
            keys += [f"v:{kind}:*", f"v:{kind}:{ident}"]
        if self.backend is None:
            values = [self._versions.get(k, "0") for k in keys]
        else:
            values = self._remote_versions(keys)
            if values is None:
                return None
        return [f"{values[i]}.{values[i + 1]}" for i in range(0, len(values), 2)]

    def _remote_versions(self, keys: list[str]) -> list[str] | None:
        try:
            trusted = (self.invalidations is not None
                       and self.invalidations.drain(self._forget))
        except Unavailable:
            return None
        values: list[str | None] = [None] * len(keys)
        if trusted:
            now = time.monotonic()
            seen = self._seen
            for n, key in enumerate(keys):
                hit = seen.get(key)
                if hit is not None and now - hit[1] < LOCAL_TTL:
                    values[n] = hit[0]
        missing = [n for n, v in enumerate(values) if v is None]
        if missing:
            before = self._forgotten
            try:
                raw = self.backend.mget([keys[n] for n in missing])  # type: ignore[union-attr]
            except Unavailable:
                return None
            absent = [n for n, data in zip(missing, raw, strict=True) if data is None]
            if absent:
                # A version Redis does not hold (never moved, expired, or Redis restarted
                # empty) gets a random one: were it "0", a row kept in memory under "0"
                # before a lost change could come back as current.
                wanted = {keys[n]: _token().encode() for n in absent}  # keys repeat
                try:
                    created = dict(zip(wanted, self.backend.ensure(  # type: ignore[union-attr]
                        wanted, self.ttl * 48), strict=True))
                except Unavailable:
                    return None
                raw = [created.get(keys[n], data) if data is None else data
                       for n, data in zip(missing, raw, strict=True)]
            now = time.monotonic()
            with self._seen_lock:
                # Not kept when a change was announced meanwhile: it may postdate this read.
                keep = trusted and self._forgotten == before
                for n, data in zip(missing, raw, strict=True):
                    values[n] = data.decode() if data is not None else "0"
                    if keep:
                        self._seen[keys[n]] = (values[n], now)
                if len(self._seen) > 200_000:
                    self._seen.clear()
        return values  # type: ignore[return-value]

    def _forget(self, keys: list[str] | None) -> None:
        with self._seen_lock:
            self._forgotten += 1
            if keys is None:
                self._seen.clear()
            else:
                for key in keys:
                    self._seen.pop(key, None)

    def bump(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """Move the versions of these rows (``id`` ``"*"``: the whole kind). Never raises."""
        keys = {f"v:{kind}:{ident}" for kind, ident in pairs}
        if not keys and not self._pending:
            return
        if self.backend is None:
            for key in keys:
                self._versions[key] = _token()
            return
        with self._pending_lock:
            keys |= self._pending
            self._pending = set()
        fresh = {k: _token() for k in keys}
        try:
            # Versions live longer than values, so a value can never outlive its version.
            self.backend.set_versions({k: v.encode() for k, v in fresh.items()}, self.ttl * 48,
                                      INVALIDATIONS)
            # This process reads its own writes at once (its announcement comes later).
            now = time.monotonic()
            with self._seen_lock:
                self._forgotten += 1
                for key, value in fresh.items():
                    self._seen[key] = (value, now)
        except Unavailable:
            # Lost for now: other processes would keep serving the old rows from Redis until
            # they expire. Kept, and sent when Redis answers again (``recover``, which the
            # cache's watcher runs within OPENWAN_REDIS_RETRY_AFTER seconds of its return,
            # traffic or not) or with the next change, whichever comes first.
            with self._pending_lock:
                self._pending |= keys
            return

    def recover(self) -> None:
        """Redis answers again after a failure: nothing kept in this process's memory is
        trusted (announcements may have been missed), and the version moves that were lost
        meanwhile are sent now, so another process stops serving what they retired."""
        self.local.clear()
        self.bodies.clear()
        self._forget(None)
        with self._pending_lock:
            pending = bool(self._pending)
        if pending:
            self.bump(())

    @property
    def pending(self) -> int:
        """Version moves waiting for Redis."""
        return len(self._pending)

    def bump_all(self) -> None:
        self.local.clear()
        self.bodies.clear()
        self._forget(None)
        self.bump((kind, "*") for kind in self._kinds | watched_kinds())

    # -- values ------------------------------------------------------------------------------

    def _local_ttl(self) -> float:
        return min(self.ttl, LOCAL_TTL) * (1 - _SPREAD * random.random())  # noqa: S311

    def get_many(self, kind: str, ids: Sequence[Any],
                 decode: Callable[[bytes], Any]) -> tuple[list[Any | None], list[str] | None]:
        """Cached values for ``ids`` (None where missing) and the tokens to store misses with.

        ``decode`` turns stored bytes into the value kept in memory (done once per version).
        Tokens are None when Redis is down: then nothing is cached or stored.
        """
        tokens = self.tokens([(kind, i) for i in ids])
        if tokens is None:
            _counter(kind, "unavailable").inc(len(ids))
            return [None] * len(ids), None
        values = self.lookup([(kind, i, t, decode) for i, t in zip(ids, tokens, strict=True)])
        return values, tokens

    def lookup(self, entries: Sequence[tuple[str, Any, str, Callable[[bytes], Any]]]
               ) -> list[Any | None]:
        """Values of (kind, id, token, decode) entries whose tokens the caller already read
        (``tokens``): from this process's memory, else one ``MGET`` for all that are missing.

        Lets a caller read the versions of several kinds in one round trip, then the values.
        """
        keys = [f"e:{kind}:{ident}:{token}" for kind, ident, token, _ in entries]
        values = self.local.get_many(keys)
        missing = [n for n, v in enumerate(values) if v is None]
        if missing and self.backend is not None:
            try:
                raw = self.backend.mget([keys[n] for n in missing])
            except Unavailable:
                raw = [None] * len(missing)
            for n, data in zip(missing, raw, strict=True):
                if data is not None:
                    values[n] = entries[n][3](data)
                    self.local.set(keys[n], values[n], self._local_ttl())
        tally: dict[tuple[str, str], int] = {}
        for (kind, *_), value in zip(entries, values, strict=True):
            result = (kind, "hit" if value is not None else "miss")
            tally[result] = tally.get(result, 0) + 1
        for (kind, result), count in tally.items():
            _counter(kind, result).inc(count)
        return values

    def put_many(self, kind: str, entries: Sequence[tuple[Any, str, bytes, Any]]) -> None:
        """Store (id, token, bytes, decoded value) for rows read after ``get_many``."""
        self.store([(kind, ident, token, data, value) for ident, token, data, value in entries])

    def store(self, entries: Sequence[tuple[str, Any, str, bytes, Any]]) -> None:
        """Store (kind, id, token, bytes, decoded value) entries, several kinds at once, under
        the tokens read before the database was."""
        if not entries:
            return
        for kind, ident, token, _, value in entries:
            self.local.set(f"e:{kind}:{ident}:{token}", value, self._local_ttl())
        if self.backend is not None:
            try:
                self.backend.set_many(
                    {f"e:{kind}:{ident}:{token}": data for kind, ident, token, data, _ in entries},
                    self.ttl)
            except Unavailable:
                return

    # -- rendered bodies ---------------------------------------------------------------------

    def body(self, kind: str, key: str, token: str) -> bytes | None:
        """A response body rendered from values read under ``token`` (the versions the caller
        read first), or None. Bodies stay in this process (bounded in bytes, never in Redis):
        they are rebuilt cheaply from the shared entries, and a moved version retires them."""
        value = self.bodies.get(f"b:{kind}:{key}:{token}")
        _counter(f"{kind}_body", "hit" if value is not None else "miss").inc()
        return value

    def keep_body(self, kind: str, key: str, token: str, body: bytes) -> None:
        self.bodies.set(f"b:{kind}:{key}:{token}", body, self._local_ttl())

    def clear_local(self) -> None:
        self.local.clear()
        self.bodies.clear()
        self._versions.clear()
        self._forget(None)

    def close(self) -> None:
        if self.invalidations is not None:
            self.invalidations.close()


# --- invalidation from the ORM ---------------------------------------------------------------

# model class -> {kind: whole}; the cache of a kind is invalidated when rows of that model
# change. ``whole``: any change moves the whole kind, not one row's version.
_watched: dict[type, dict[str, bool]] = {}
# Table name -> kind, for link tables written with Core statements through a Session.
_tables: dict[str, str] = {}
_current: Callable[[], EntityCache | None] = lambda: None  # noqa: E731 - set by configure


def watch(model: type, kind: str, *, whole: bool = False) -> None:
    """Invalidate ``kind`` entries whenever a ``model`` row changes (after commit).

    Other domains call this for their own cached lookups, e.g. ``watch(GroupMember, "rights")``
    with rows keyed by user id, or key their entries by something the watched row names.
    ``whole``: any change (insert included) moves the whole kind (``(kind, "*")``) — an epoch
    for values that depend on many rows (a user's resolved rights, a page of a listing).
    A model may feed several kinds.
    """
    _watched.setdefault(model, {})[kind] = whole


def watch_table(name: str, kind: str) -> None:
    """Move the whole ``kind`` when a Core ``INSERT``/``UPDATE``/``DELETE`` on table ``name``
    runs through a Session (ORM changes to link tables are seen through their parent rows)."""
    _tables[name] = kind


def watched_kinds() -> set[str]:
    """Every kind some model or table invalidates."""
    return {kind for kinds in _watched.values() for kind in kinds} | set(_tables.values())


def set_provider(provider: Callable[[], EntityCache | None]) -> None:
    global _current
    _current = provider


def _ident(obj: Any) -> Any:
    identity = inspect(obj).identity
    if identity is None:
        return None
    return identity[0] if len(identity) == 1 else ":".join(str(p) for p in identity)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    if not _watched:
        return
    changed = None
    for obj in chain(session.new, session.dirty, session.deleted):
        kinds = _watched.get(type(obj))
        if kinds is None:
            continue
        # New rows have no identity yet here (it is assigned after this event): nobody has
        # cached them by id, but they do move the epochs (``whole`` kinds).
        ident = _ident(obj)
        if changed is None:
            changed = session.info.setdefault(_CHANGED, set())
        for kind, whole in kinds.items():
            if whole:
                changed.add((kind, "*"))
            elif ident is not None:
                changed.add((kind, ident))


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert) or not _watched:
        return
    for mapper in state.all_mappers:
        for kind, whole in _watched.get(mapper.class_, {}).items():
            # A bulk INSERT adds rows nobody has cached, unless the kind is an epoch.
            if whole or not state.is_insert:
                state.session.info.setdefault(_CHANGED, set()).add((kind, "*"))
    table = getattr(state.statement, "table", None)
    kind = _tables.get(getattr(table, "name", None) or "")
    if kind is not None:
        state.session.info.setdefault(_CHANGED, set()).add((kind, "*"))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        cache = _current()
        if cache is not None:
            started = time.perf_counter()
            cache.bump(changed)
            elapsed = time.perf_counter() - started
            if elapsed > 0.1:
                log.warning("cache invalidation took %.0f ms", elapsed * 1000)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (rollback): nothing changed.
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
