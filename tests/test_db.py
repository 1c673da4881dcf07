"""Migrations on SQLite, MariaDB and PostgreSQL; no drift; Chinese text round-trips."""

import pytest
from alembic import command
from sqlalchemy import inspect, select

from openwan import migrate
from openwan.db import get_engine, unit_of_work
from openwan.models import Asset, Category, User
from tests.conftest import all_backends


@all_backends
def test_migrations_create_every_table_and_match_the_models(settings):
    tables = set(inspect(get_engine(settings)).get_table_names())
    assert {"users", "assets", "categories", "uploads", "alembic_version"} <= tables
    migrate.check(settings.database_url)  # `alembic check`: raises on model drift


@all_backends
def test_downgrade_and_upgrade_again(settings):
    config = migrate.alembic_config(settings.database_url)
    command.downgrade(config, "base")
    assert "assets" not in inspect(get_engine(settings)).get_table_names()
    command.upgrade(config, "head")
    assert "assets" in inspect(get_engine(settings)).get_table_names()


@all_backends
def test_chinese_text_round_trips(settings):
    title = "城市夜景延时摄影 🌃 新闻联播"
    with unit_of_work(settings) as session:
        user = User(username="编目员", password_hash="x", display_name="张伟")
        category = Category(name="新闻/纪录片", path="/")
        session.add_all([user, category])
        session.flush()
        session.add(Asset(type="video", title=title, filename="夜景.mp4", extension="mp4",
                          size=1, sha256="0" * 64, mime_type="video/mp4",
                          storage_key="original/video/2026/01/a.mp4", uploaded_by=user.id,
                          category_id=category.id, catalog={"题名": {"正题名": title}},
                          technical={}))
    with unit_of_work(settings) as session:
        asset = session.scalar(select(Asset))
        assert asset.title == title
        assert asset.catalog == {"题名": {"正题名": title}}
        assert session.scalar(select(User.username)) == "编目员"
        assert asset.created_at.tzinfo is not None


def test_many_concurrent_requests_never_wait_for_an_embedded_connection(make_settings,
                                                                        database_url):
    """SQLite connections are cheap: the pool never makes a request wait."""
    settings = make_settings(OPENWAN_DATABASE_URL=database_url)
    assert _burst_of_searches(settings, 80) == [200] * 80


def _burst_of_searches(settings, count: int) -> list[int]:
    """``count`` concurrent searches (a sync route: caller, work and the response's
    serialisation in threadpool steps, one connection held throughout) against a live server."""
    import asyncio

    import httpx

    from openwan.access import service
    from openwan.app import create_app
    from openwan.config import set_settings
    from openwan.db import dispose_engines
    from tests.conftest import ADMIN_PASSWORD, LiveServer

    migrate.upgrade(settings.database_url)
    set_settings(settings)
    try:
        with unit_of_work(settings) as session:
            service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
        with LiveServer(create_app(settings)) as server:
            token = httpx.post(f"{server.url}/api/v1/auth/login", json={
                "username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]

            async def burst() -> list[int]:
                limits = httpx.Limits(max_connections=count)
                async with httpx.AsyncClient(base_url=server.url, limits=limits,
                                             timeout=60) as client:
                    responses = await asyncio.gather(*(client.get(
                        "/api/v1/search", params={"q": "news"},
                        headers={"Authorization": f"Bearer {token}"}) for _ in range(count)))
                return [r.status_code for r in responses]

            return asyncio.run(burst())
    finally:
        set_settings(None)
        dispose_engines()


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_a_burst_larger_than_the_pool_queues_for_connections_instead_of_deadlocking(
        make_settings, database_url):
    """A bounded pool (the server databases') under a burst of sync routes: requests wait
    for a connection in turn, and none fails (with the threadpool no larger than the burst,
    connection holders waited for threads until the pool timed out)."""
    settings = make_settings(OPENWAN_DATABASE_URL=database_url, OPENWAN_DB_POOL_SIZE="2",
                             OPENWAN_DB_MAX_OVERFLOW="0", OPENWAN_DB_POOL_TIMEOUT="20")
    assert _burst_of_searches(settings, 60) == [200] * 60
