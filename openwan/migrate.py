"""Database migrations, run from code (``openwan migrate``, ``openwan up``, the tests).

Runs never overlap: each holds a lock for its whole length (MySQL/MariaDB ``GET_LOCK``, a
PostgreSQL advisory lock, a file lock beside a SQLite database), so two deployments starting
at once, or a retried task, take turns; the second finds the work done. There is no time
limit of our own: a long migration holds the lock as long as it runs, and the others wait,
saying so every minute.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

log = logging.getLogger("openwan.migrate")
LOCK_NAME = "openwan_migrate"
# pg_advisory_lock's key: any fixed 64-bit number (this one spells "openwanm").
PG_LOCK_KEY = 0x6F70656E77616E6D
WAIT_REPORT_SECONDS = 60

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser treats "%" as interpolation; URL-encoded passwords contain it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def lock(url: str) -> Iterator[None]:
    """Hold the migration lock of the database at ``url`` for the block (waits for it)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        with _file_lock(parsed.database):
            yield
        return
    from openwan.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if backend == "mysql":
                # Waits a minute at a time (so that a wait is reported), for as long as it takes.
                while conn.scalar(text("SELECT GET_LOCK(:name, :seconds)"),
                                  {"name": LOCK_NAME, "seconds": WAIT_REPORT_SECONDS}) != 1:
                    log.warning("another migration is running; waiting for it to finish")
                try:
                    yield
                finally:
                    conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
            elif backend == "postgresql":
                while not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": PG_LOCK_KEY}):
                    log.warning("another migration is running; waiting for it to finish")
                    conn.execute(text("SELECT pg_sleep(1)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            else:
                yield
    finally:
        engine.dispose()


@contextlib.contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    path = Path(database).with_name(Path(database).name + ".migrate.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another migration is running; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str | None = None, then: Callable[[], object] | None = None) -> None:
    """Bring the database to the latest revision under the migration lock; ``then`` runs
    under the same lock afterwards (``openwan migrate`` creates the first administrator)."""
    if url is None:
        from openwan.config import get_settings

        url = get_settings().database_url
    with lock(url):
        command.upgrade(alembic_config(url), "head")
        if then is not None:
            then()


def check(url: str | None = None) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))
