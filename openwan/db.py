"""Engine and session factory. Transactions are owned by the edge (request or job)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openwan.config import Settings

_engines: dict[str, Engine] = {}


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    parsed = make_url(url)
    kwargs: dict = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_size"] = settings.db.pool_size if settings else 10
        kwargs["max_overflow"] = settings.db.max_overflow if settings else 10
        kwargs["pool_recycle"] = 1800
    if parsed.get_backend_name() == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(parsed, echo=bool(settings and settings.db.echo), **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while the API reads; NORMAL sync is durable across a crash
    # of the process (not of the machine) and is what WAL is designed for.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine(settings: Settings) -> Engine:
    url = settings.database_url
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, settings)
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(get_engine(settings), expire_on_commit=False, autoflush=False)


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
