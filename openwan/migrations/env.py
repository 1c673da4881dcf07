"""Alembic environment: the URL comes from OpenWan's settings unless the caller passes one."""

from alembic import context

from openwan import models
from openwan.config import get_settings
from openwan.db import make_engine

config = context.config
target_metadata = models.Base.metadata


def include_name(name, type_, parent_names) -> bool:
    # Full-text structures (FTS5 tables, FULLTEXT and GIN indexes) are created by migrations
    # per database and have no model; model comparison must not try to drop them.
    return not (name or "").startswith("fts_")


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # Batch mode lets ALTERs work on SQLite (which rebuilds the table) and is a no-op elsewhere.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
