"""The cached caller on async read routes: no query and no thread when warm, yet a revoked
session, a locked account or a change of rights is seen on the very next request — in this
process and, through Redis, from another one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from openwan import cache
from tests.conftest import ADMIN_PASSWORD, login
from tests.observability.helpers import TEST_REDIS_URL, flush_test_redis, redis_available

REPO = Path(__file__).resolve().parents[2]
VIEWER_PASSWORD = "Seeing-Eye-Pass-123"


@pytest.fixture(params=[False, True, "cluster"], ids=["in-process", "redis", "cluster"])
def world(request, make_settings, tmp_path):
    """An admin, a viewer whose group is bound to category "news", a published asset there,
    and a second category "archive" outside the viewer's reach."""
    from openwan import migrate
    from openwan.access import service
    from openwan.db import dispose_engines, unit_of_work
    from openwan.models import Asset, Category, Group

    env = {"OPENWAN_DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}",
           "OPENWAN_RATE_LIMIT": "100000"}
    if request.param == "cluster":  # ElastiCache's cluster mode, detected by asking
        env["OPENWAN_REDIS_URL"] = request.getfixturevalue("cluster_url")
    elif request.param:
        redis_available()
        flush_test_redis()
        env["OPENWAN_REDIS_URL"] = TEST_REDIS_URL
    settings = make_settings(**env)
    migrate.upgrade(settings.database_url)
    with unit_of_work(settings) as session:
        admin = service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
        viewer = service.create_user(session, "viewer", VIEWER_PASSWORD, level=2)
        news = Category(name="news", path="/")
        archive = Category(name="archive", path="/")
        session.add_all([news, archive])
        session.flush()
        news.path, archive.path = f"/{news.id}/", f"/{archive.id}/"
        group = Group(name="readers", description="", all_categories=False)
        group.categories = [news]
        session.add(group)
        session.flush()
        service.set_groups(session, viewer, [group.id])
        asset = Asset(type="image", title="seen", filename="a.png", extension="png", size=1,
                      sha256="1" * 64, mime_type="image/png", storage_key="original/image/a",
                      status="published", level=1, groups="all", category_id=news.id,
                      uploaded_by=admin.id, catalog={}, technical={})
        session.add(asset)
        session.flush()
        ids = {"asset": asset.id, "viewer": viewer.id, "group": group.id, "news": news.id,
               "archive": archive.id}
    yield settings, ids
    cache.close()
    dispose_engines()


def _client(settings):
    from openwan.app import create_app

    return TestClient(create_app(settings))


def test_a_warm_detail_needs_no_query_and_no_thread(world, monkeypatch):
    from openwan.db import get_engine

    settings, ids = world
    statements: list[str] = []
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counting_run_sync(fn, *args, **kwargs):
        hops.append(fn)
        return await run_sync(fn, *args, **kwargs)

    with _client(settings) as client:
        viewer = login(client, "viewer", VIEWER_PASSWORD)
        url = f"/api/v1/assets/{ids['asset']}"
        assert client.get(url, headers=viewer).status_code == 200  # warms the cache
        engine = get_engine(settings)
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
        try:
            for _ in range(3):
                response = client.get(url, headers=viewer)
                assert response.status_code == 200 and response.json()["title"] == "seen"
        finally:
            monkeypatch.undo()
            event.remove(engine, "before_cursor_execute", listener)
    assert statements == []
    assert hops == []


def test_logout_and_lock_end_tokens_on_the_cached_route_at_once(world):
    from openwan.access import service
    from openwan.db import unit_of_work
    from openwan.models import User

    settings, ids = world
    url = f"/api/v1/assets/{ids['asset']}"
    with _client(settings) as client:
        first = login(client, "viewer", VIEWER_PASSWORD)
        second = login(client, "viewer", VIEWER_PASSWORD)
        for headers in (first, second):
            assert client.get(url, headers=headers).status_code == 200
            assert client.get(url, headers=headers).status_code == 200  # warm
        assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
        assert client.get(url, headers=first).status_code == 401
        assert client.get("/api/v1/assets", headers=first).status_code == 401
        assert client.get(url, headers=second).status_code == 200  # another session lives on

        admin = login(client, "admin", ADMIN_PASSWORD)
        assert client.get(url, headers=admin).status_code == 200
        with unit_of_work(settings) as session:
            actor = session.scalar(select(User).where(User.username == "admin"))
            service.update_user(session, actor, session.get(User, ids["viewer"]),
                                {"locked": True})
        assert client.get(url, headers=second).status_code == 401
        assert client.get(url, headers=admin).status_code == 200


def test_rights_changes_are_seen_on_the_next_request(world):
    from openwan.access import rights
    from openwan.db import unit_of_work
    from openwan.models import Asset, Category, Group, User

    settings, ids = world
    url = f"/api/v1/assets/{ids['asset']}"
    with _client(settings) as client:
        viewer = login(client, "viewer", VIEWER_PASSWORD)
        assert client.get(url, headers=viewer).status_code == 200
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 1

        # The asset moves to a category the viewer's group is not bound to.
        with unit_of_work(settings) as session:
            session.get(Asset, ids["asset"]).category_id = ids["archive"]
        assert client.get(url, headers=viewer).status_code == 404
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 0

        # The category tree changes: "archive" becomes a child of "news" (a bound subtree).
        with unit_of_work(settings) as session:
            archive = session.get(Category, ids["archive"])
            archive.parent_id = ids["news"]
            archive.path = f"/{ids['news']}/{ids['archive']}/"
        assert client.get(url, headers=viewer).status_code == 200
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 1

        # The group loses its categories (through the rights service, as the API does it).
        with unit_of_work(settings) as session:
            actor = session.scalar(select(User).where(User.username == "admin"))
            rights.update_group(session, actor, session.get(Group, ids["group"]),
                                {"categories": []})
        assert client.get(url, headers=viewer).status_code == 404
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 0

        # ... and gets every category; then the viewer leaves the group.
        with unit_of_work(settings) as session:
            actor = session.scalar(select(User).where(User.username == "admin"))
            rights.update_group(session, actor, session.get(Group, ids["group"]),
                                {"categories": "all"})
        assert client.get(url, headers=viewer).status_code == 200
        with unit_of_work(settings) as session:
            session.get(User, ids["viewer"]).groups = []
        assert client.get(url, headers=viewer).status_code == 404

        # Clearance: the asset's level above the viewer's, then the viewer's raised.
        with unit_of_work(settings) as session:
            session.get(User, ids["viewer"]).groups = [session.get(Group, ids["group"])]
            session.get(Asset, ids["asset"]).level = 3
        assert client.get(url, headers=viewer).status_code == 404
        with unit_of_work(settings) as session:
            session.get(User, ids["viewer"]).level = 3
        assert client.get(url, headers=viewer).status_code == 200


def test_a_session_revoked_by_another_process_is_refused_at_once(make_settings, tmp_path):
    """With Redis, a revocation committed elsewhere (another task, the CLI) is seen here."""
    from openwan import migrate
    from openwan.access import service
    from openwan.db import dispose_engines, unit_of_work
    from openwan.models import Asset

    redis_available()
    flush_test_redis()
    settings = make_settings(OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
                             OPENWAN_REDIS_URL=TEST_REDIS_URL)
    migrate.upgrade(settings.database_url)
    with unit_of_work(settings) as session:
        admin = service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
        asset = Asset(type="image", title="t", filename="a.png", extension="png", size=1,
                      sha256="2" * 64, mime_type="image/png", storage_key="original/image/b",
                      uploaded_by=admin.id, catalog={}, technical={})
        session.add(asset)
        session.flush()
        admin_id, asset_id = admin.id, asset.id
    try:
        with _client(settings) as client:
            headers = login(client, "admin", ADMIN_PASSWORD)
            url = f"/api/v1/assets/{asset_id}"
            assert client.get(url, headers=headers).status_code == 200
            assert client.get(url, headers=headers).status_code == 200  # warm
            code = ("from openwan.config import Settings\nfrom openwan import cache\n"
                    "from openwan.access import sessions\nfrom openwan.db import unit_of_work\n"
                    "s = Settings()\ncache.configure(s)\n"
                    "with unit_of_work(s) as session:\n"
                    f"    assert sessions.revoke_all(session, {admin_id}, 'password') == 1\n")
            env = {**os.environ, "PYTHONPATH": str(REPO),
                   "OPENWAN_DATA_DIR": str(settings.data_dir),
                   "OPENWAN_DATABASE_URL": settings.database_url,
                   "OPENWAN_REDIS_URL": TEST_REDIS_URL, "OPENWAN_ENV": "test",
                   "JWT_SECRET": settings.jwt_secret}
            subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
            assert client.get(url, headers=headers).status_code == 401
    finally:
        cache.close()
        dispose_engines()


def test_new_rows_move_the_epochs(world):
    """A new asset shows in a cached list page; a new category under a bound one is in the
    cached rights at once (new rows have no identity yet when their flush is observed)."""
    from openwan.db import unit_of_work
    from openwan.models import Asset, Category

    settings, ids = world

    def add_asset(category_id: int, n: int) -> int:
        with unit_of_work(settings) as session:
            asset = Asset(type="image", title=f"new {n}", filename="b.png", extension="png",
                          size=1, sha256=str(n) * 64, mime_type="image/png",
                          storage_key=f"original/image/n{n}", status="published", level=1,
                          groups="all", category_id=category_id, catalog={}, technical={})
            session.add(asset)
            session.flush()
            return asset.id

    with _client(settings) as client:
        viewer = login(client, "viewer", VIEWER_PASSWORD)
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 1
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 1  # cached
        add_asset(ids["news"], 4)
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 2

        with unit_of_work(settings) as session:  # an insert only, its path known up front
            child = Category(name="sport", parent_id=ids["news"], path=f"/{ids['news']}/9/")
            session.add(child)
            session.flush()
            child_id = child.id
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 2
        asset_id = add_asset(child_id, 5)
        assert client.get(f"/api/v1/assets/{asset_id}", headers=viewer).status_code == 200
        assert client.get("/api/v1/assets", headers=viewer).json()["total"] == 3
