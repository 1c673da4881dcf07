"""Engine and session factory. Transactions are owned by the edge (request or job).

Connection budget (the seed's RDS ``max_connections = 500``, alarm at 450): every process
holds at most ``OPENWAN_DB_POOL_SIZE + OPENWAN_DB_MAX_OVERFLOW`` connections to each database
it uses (defaults 10 + 5 = 15). At the seed's scaling ceiling of 20 backend tasks and 10
workers that would be 20 × 15 + 10 × 15 = 450 — exactly the alarm — so ``openwan worker``
(a few jobs at a time, 2–3 connections) defaults to 3 + 2 unless those variables are set:
20 × 15 + 10 × 5 = 350, leaving 150 for migrations, the bastion and RDS's own reserved slots.
With ``OPENWAN_DATABASE_REPLICA_URL`` the read-only GETs go to the replica, which has its own
500, so the primary's share falls further. Pools open connections lazily: these are ceilings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openwan.config import Settings

_engines: dict[str, Engine] = {}
_roles: dict[str, str] = {}
slow_log = logging.getLogger("openwan.db")


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    # A server may drop idle connections (failover, restarts): test each before use. A SQLite
    # connection is a file handle that never goes stale; a ping would only cost a query.
    kwargs: dict = {"future": True, "pool_pre_ping": backend != "sqlite"}
    timeout = settings.db.connect_timeout if settings else 5
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # Never make a request wait for a connection: a sync route holds one across two
            # threadpool steps (its work, then FastAPI's serialisation of the response), so a
            # bounded pool smaller than the threadpool deadlocks under a burst until the pool
            # times out. A SQLite connection is a file handle; a few idle ones are kept.
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = -1
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_size"] = settings.db.pool_size if settings else 10
        kwargs["max_overflow"] = settings.db.max_overflow if settings else 5
        kwargs["pool_timeout"] = settings.db.pool_timeout if settings else 10
        kwargs["pool_recycle"] = 1800
        # A database that does not answer fails the request (and /ready) quickly.
        kwargs["connect_args"] = {"connect_timeout": timeout, **tls_connect_args(
            backend, settings)}
    if backend == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(parsed, echo=bool(settings and settings.db.echo), **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _watch_queries(engine, settings.db.slow_query_ms if settings else 500.0)
    from openwan.observability import tracing

    tracing.instrument_engine(engine)
    return engine


def tls_connect_args(backend: str, settings: Settings | None) -> dict:
    """The driver's TLS arguments for ``OPENWAN_DB_TLS`` / ``OPENWAN_DB_TLS_CA``: encrypted, and
    the server's certificate checked (chain and host name), or nothing when TLS is off."""
    if settings is None or not settings.db.tls:
        return {}
    ca = str(settings.db.tls_ca) if settings.db.tls_ca else None
    if backend == "mysql":  # PyMySQL: any ssl_* argument turns TLS on, and it is required
        args: dict = {"ssl_verify_cert": True, "ssl_verify_identity": True}
        if ca:
            args["ssl_ca"] = ca
        return args
    if backend == "postgresql":
        args = {"sslmode": "verify-full"}
        if ca:
            args["sslrootcert"] = ca
        return args
    return {}


def _watch_queries(engine: Engine, slow_ms: float) -> None:
    """Log queries slower than ``slow_ms`` with the fields the Insights "slow queries" query
    reads (``operation = "database.query"``, ``duration`` in ms); parameters are never logged."""

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("openwan_query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        starts = conn.info.get("openwan_query_start")
        if not starts:
            return
        elapsed_ms = (time.perf_counter() - starts.pop()) * 1000
        if elapsed_ms >= slow_ms:
            from openwan.observability.metrics import DB_SLOW_QUERIES

            DB_SLOW_QUERIES.inc()
            slow_log.warning("slow query (%.0f ms)", elapsed_ms, extra={
                "operation": "database.query", "duration": round(elapsed_ms, 1),
                "query": " ".join(statement.split())[:2000],
                "db_role": _roles.get(str(engine.url), "primary")})

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        starts = context.connection.info.get("openwan_query_start") if context.connection else None
        if starts:
            starts.pop()


SQLITE_MMAP_BYTES = 4 * 1024**3  # address space, not memory: the page cache backs it


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while the API reads; NORMAL sync is durable across a crash
    # of the process (not of the machine) and is what WAL is designed for.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Pages read through a shared memory map instead of a read() into each connection's own
    # 2 MiB cache: a search touches thousands of scattered rows, and at a million assets
    # those reads were a third of its time.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()
    # SQLite's lower() folds ASCII only: "Ärger" and "ärger" would be two names (and the
    # same name twice slips past a case-insensitive check into the unique index). Python's
    # folds like the other databases' (MariaDB's collation, PostgreSQL's lower()).
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _engine_for(url: str, settings: Settings, role: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, settings)
        _roles.setdefault(str(engine.url), role)
        _roles.setdefault(url, role)
    return engine


def get_engine(settings: Settings) -> Engine:
    return _engine_for(settings.database_url, settings, "primary")


def get_read_engine(settings: Settings) -> Engine:
    """The read replica when ``OPENWAN_DATABASE_REPLICA_URL`` is set, else the primary."""
    if settings.db.replica_url:
        return _engine_for(settings.db.replica_url, settings, "replica")
    return get_engine(settings)


def engines_by_role() -> dict[str, Engine]:
    """Open engines named by role (``primary``, ``replica``) for the pool metrics."""
    named: dict[str, Engine] = {}
    for url, engine in list(_engines.items()):
        role = _roles.get(url, "primary")
        named[role if role not in named else f"{role}:{len(named)}"] = engine
    return named


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _roles.clear()


# Seconds a client is asked to wait when the database cannot be reached (503 Retry-After).
UNAVAILABLE_RETRY_SECONDS = 5


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The errors of a database that cannot be reached or used right now (down, restarting,
    failing over, out of connections): a 503 to retry, not a bug. Constraint violations and
    programming errors are not among them."""
    from sqlalchemy import exc

    return (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, exc.DisconnectionError)


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(get_engine(settings), expire_on_commit=False, autoflush=False)


def read_session_factory(settings: Settings) -> sessionmaker[Session]:
    """Sessions for read-only work (list and search GETs): the replica when configured.

    A replica lags the primary by a little; reads that must see the caller's own write a
    moment ago (the response to a PATCH) use the primary session.
    """
    return sessionmaker(get_read_engine(settings), expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    """A transaction at the edge: commit on success, roll back on any error."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Any process that writes through these sessions invalidates cached rows and counts uploads
# after commit (both register session events on import).
import openwan.cache  # noqa: E402,F401
import openwan.observability.uploads  # noqa: E402,F401
