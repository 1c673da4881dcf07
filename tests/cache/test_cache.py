"""Counters and the row cache: in-process and in Redis, correct invalidation after commit,
rights checked per user, Redis going away mid-test, and a fixed number of queries per page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from openwan import cache
from openwan.cache import SharedCounters
from openwan.cache.memory import Counters
from openwan.cache.redisstore import Breaker, RedisBackend, make_client
from tests.conftest import ADMIN_PASSWORD, login
from tests.media import png_bytes
from tests.observability.helpers import (
    TEST_REDIS_URL,
    RedisServer,
    flush_test_redis,
    redis_available,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_settings(make_settings, tmp_path):
    """Settings on a fresh SQLite database with the cache in the shared Redis (db 13)."""
    from openwan import migrate
    from openwan.db import dispose_engines

    redis_available()
    flush_test_redis()
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    yield make_settings(OPENWAN_DATABASE_URL=url, OPENWAN_REDIS_URL=TEST_REDIS_URL)
    cache.close()
    dispose_engines()


def _admin(settings):
    from openwan.access import service
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        return service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)


def _upload(client, headers, color=(1, 2, 3)) -> dict:
    response = client.post("/api/v1/assets", headers=headers,
                           files={"file": ("a.png", png_bytes(color=color), "image/png")})
    assert response.status_code == 201, response.text
    return response.json()


def test_in_process_counters_keep_their_interface():
    counters = Counters()
    assert counters.hit("k", 60) == 1 and counters.hit("k", 60, 2) == 3
    assert counters.get("k", 60) == 3 and 1 <= counters.retry_after("k", 60) <= 60
    counters.reset("k")
    assert counters.get("k", 60) == 0
    assert cache.counters.hit("x", 60) == 1  # the module-level object, as callers use it
    cache.counters.reset("x")


def _two_processes_counting_in_redis(make_settings) -> tuple[SharedCounters, SharedCounters]:
    redis_available()
    flush_test_redis()
    settings = make_settings(OPENWAN_REDIS_URL=TEST_REDIS_URL)
    one, two = SharedCounters(), SharedCounters()
    for counters in (one, two):
        counters.backend = RedisBackend(make_client(settings), Breaker(5))
    return one, two


def test_counters_in_redis_are_shared_between_processes(make_settings):
    one, two = _two_processes_counting_in_redis(make_settings)
    assert one.hit("login:alice", 30) == 1
    assert two.hit("login:alice", 30) == 2
    count, retry = one.hit_with_retry("login:alice", 30)
    assert count == 3 and 28 <= retry <= 30
    assert two.get("login:alice", 30) == 3
    two.reset("login:alice")
    assert one.get("login:alice", 30) == 0
    assert one.local.get("login:alice", 30) == 0  # nothing was counted in-process


def test_redis_auth_token(make_settings, tmp_path):
    token = "elasticache-auth-token-0123456789"
    with RedisServer(tmp_path, password=token) as server:
        good = make_settings(REDIS_HOST="127.0.0.1", REDIS_PORT=str(server.port),
                             OPENWAN_REDIS_AUTH_TOKEN=token)
        assert make_client(good).ping()
        url_only = make_settings(OPENWAN_REDIS_URL=server.url, OPENWAN_REDIS_AUTH_TOKEN=token)
        assert make_client(url_only).ping()
        wrong = make_settings(OPENWAN_REDIS_URL=server.url, OPENWAN_REDIS_AUTH_TOKEN="nope-nope")
        counters = SharedCounters()
        counters.backend = RedisBackend(make_client(wrong), Breaker(5))
        assert counters.hit("a", 10) == 1  # refused by Redis: counted in-process, no error
        assert counters.backend.breaker.is_open
    tls = make_settings(REDIS_HOST="cache.internal", OPENWAN_REDIS_TLS="true",
                        OPENWAN_REDIS_AUTH_TOKEN=token)
    assert tls.redis.resolved_url().startswith("rediss://")
    from redis.connection import SSLConnection

    assert make_client(tls).connection_pool.connection_class is SSLConnection


@pytest.mark.parametrize("with_redis", [False, True], ids=["in-process", "redis"])
def test_detail_is_cached_invalidated_after_commit_and_rights_checked(
        make_settings, tmp_path, with_redis):
    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.db import dispose_engines, unit_of_work
    from openwan.models import Asset, Group

    env = {"OPENWAN_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    if with_redis:
        redis_available()
        flush_test_redis()
        env["OPENWAN_REDIS_URL"] = TEST_REDIS_URL
    settings = make_settings(**env)
    migrate.upgrade(settings.database_url)
    _admin(settings)
    with unit_of_work(settings) as session:
        viewer = service.create_user(session, "viewer", "Seeing-Eye-Pass-123", level=2)
        # Viewers see published assets in the categories their groups are bound to.
        group = Group(name="everyone", description="", all_categories=True)
        session.add(group)
        session.flush()
        service.set_groups(session, viewer, [group.id])
    try:
        with TestClient(create_app(settings)) as client:
            admin = login(client, "admin", ADMIN_PASSWORD)
            viewer = login(client, "viewer", "Seeing-Eye-Pass-123")
            asset = _upload(client, admin)
            url = f"/api/v1/assets/{asset['id']}"
            assert client.get(url, headers=admin).json()["title"] == "a.png"
            hits = _hits()
            assert client.get(url, headers=admin).json()["title"] == "a.png"
            assert _hits() == hits + 1  # the asset row from the cache
            # Rights per user against the cached row: new assets are the uploader's only.
            assert client.get(url, headers=viewer).status_code == 404

            # A change through the API is seen at once.
            assert client.patch(url, headers=admin, json={"title": "renamed"}).status_code == 200
            assert client.get(url, headers=admin).json()["title"] == "renamed"

            # A rolled-back change neither shows nor invalidates.
            hits = _hits()
            with pytest.raises(RuntimeError), unit_of_work(settings) as session:
                session.get(Asset, asset["id"]).title = "never committed"
                session.flush()
                raise RuntimeError("roll back")
            assert client.get(url, headers=admin).json()["title"] == "renamed"
            assert _hits() == hits + 1

            # Publishing (a worker or reviewer elsewhere) makes it visible to the viewer.
            with unit_of_work(settings) as session:
                session.execute(update(Asset).where(Asset.id == asset["id"])
                                .values(status="published", level=2))
            assert client.get(url, headers=viewer).json()["status"] == "published"
            with unit_of_work(settings) as session:
                session.get(Asset, asset["id"]).level = 3
            assert client.get(url, headers=viewer).status_code == 404  # above clearance

            # Disabling the account takes effect on the next request, token or not.
            from openwan.models import User

            with unit_of_work(settings) as session:
                session.scalar(select(User).where(User.username == "viewer")).enabled = False
            assert client.get(url, headers=viewer).status_code == 401
    finally:
        dispose_engines()


def _hits(kinds=("asset",)) -> float:
    from prometheus_client import REGISTRY

    return sum(REGISTRY.get_sample_value("openwan_cache_requests_total",
                                         {"cache": kind, "result": "hit"}) or 0
               for kind in kinds)


def test_a_reader_racing_a_writer_cannot_store_stale_data(make_settings, tmp_path):
    """Reader reads the version, writer commits, reader stores what it read: still correct."""
    from openwan import migrate
    from openwan.cache import rows
    from openwan.db import dispose_engines, unit_of_work
    from openwan.models import Asset

    redis_available()
    flush_test_redis()
    settings = make_settings(OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}",
                             OPENWAN_REDIS_URL=TEST_REDIS_URL)
    migrate.upgrade(settings.database_url)
    cache.configure(settings)
    admin = _admin(settings)
    try:
        with unit_of_work(settings) as session:
            asset = Asset(type="image", title="old", filename="a.png", extension="png", size=1,
                          sha256="0" * 64, mime_type="image/png", storage_key="original/x",
                          uploaded_by=admin.id, catalog={}, technical={})
            session.add(asset)
        entities = cache.entities()
        (value,), tokens = entities.get_many("asset", [asset.id], lambda d: d)
        assert value is None
        with unit_of_work(settings) as session:
            stale = rows.encode(session.get(Asset, asset.id))  # the reader's (old) read
        with unit_of_work(settings) as session:
            session.get(Asset, asset.id).title = "new"  # the writer commits meanwhile
        entities.put_many("asset", [(asset.id, tokens[0], stale, stale)])
        (value,), _ = entities.get_many("asset", [asset.id], lambda d: d)
        assert value is None  # the stale copy sits under a version nobody asks for
    finally:
        cache.close()
        dispose_engines()


def test_change_in_another_process_invalidates_through_redis(redis_settings):
    """The detail, a list page and a search result, each cached, follow a change committed
    by another process."""
    from openwan.app import create_app

    settings = redis_settings
    _admin(settings)
    with TestClient(create_app(settings)) as client:
        admin = login(client, "admin", ADMIN_PASSWORD)
        asset = _upload(client, admin)
        url = f"/api/v1/assets/{asset['id']}"
        assert client.get(url, headers=admin).json()["title"] == "a.png"

        def titles() -> tuple[str, str]:
            page = client.get("/api/v1/assets", headers=admin).json()
            found = client.get("/api/v1/search", params={"q": "png"}, headers=admin).json()
            return page["items"][0]["title"], found["items"][0]["title"]

        assert titles() == ("a.png", "a.png")
        assert titles() == ("a.png", "a.png")  # now from the page and result caches
        code = ("from openwan.config import Settings\nfrom openwan import cache\n"
                "from openwan.db import unit_of_work\nfrom openwan.models import Asset\n"
                "s = Settings()\ncache.configure(s)\n"
                f"with unit_of_work(s) as session:\n"
                f"    session.get(Asset, {asset['id']}).title = 'from the worker'\n")
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENWAN_DATA_DIR": str(settings.data_dir),
               "OPENWAN_DATABASE_URL": settings.database_url,
               "OPENWAN_REDIS_URL": TEST_REDIS_URL, "OPENWAN_ENV": "test",
               "JWT_SECRET": settings.jwt_secret}
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
        assert client.get(url, headers=admin).json()["title"] == "from the worker"
        assert titles() == ("from the worker", "from the worker")


def test_redis_dying_mid_test_degrades_to_no_cache(make_settings, tmp_path):
    from openwan import migrate
    from openwan.app import create_app
    from openwan.db import dispose_engines
    from openwan.observability.metrics import REDIS_AVAILABLE

    server = RedisServer(tmp_path).start()
    settings = make_settings(OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
                             OPENWAN_REDIS_URL=server.url, OPENWAN_REDIS_RETRY_AFTER="0.5",
                             OPENWAN_RATE_LIMIT="1000")
    migrate.upgrade(settings.database_url)
    _admin(settings)
    try:
        with TestClient(create_app(settings)) as client:
            admin = login(client, "admin", ADMIN_PASSWORD)
            asset = _upload(client, admin)
            url = f"/api/v1/assets/{asset['id']}"
            assert client.get(url, headers=admin).status_code == 200
            assert cache.redis_backend().client.dbsize() > 0  # it really was in Redis
            server.kill()
            started = time.monotonic()
            for _ in range(40):
                response = client.get(url, headers=admin)
                assert response.status_code == 200 and response.json()["id"] == asset["id"]
            assert time.monotonic() - started < 5  # no waiting on a dead Redis per request
            assert REDIS_AVAILABLE._value.get() == 0
            assert client.patch(url, headers=admin, json={"title": "while down"}
                                ).status_code == 200
            assert client.get(url, headers=admin).json()["title"] == "while down"
            assert client.post("/api/v1/auth/login", json={
                "username": "admin", "password": ADMIN_PASSWORD}).status_code == 200

            server.start()  # back on the same port, empty
            time.sleep(0.6)
            assert client.get(url, headers=admin).json()["title"] == "while down"
            assert REDIS_AVAILABLE._value.get() == 1
            assert client.get(url, headers=admin).json()["title"] == "while down"
    finally:
        server.kill()
        cache.close()
        dispose_engines()


def test_list_page_runs_a_fixed_number_of_queries(settings, admin):
    from openwan.app import create_app
    from openwan.db import get_engine

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        for i in range(60):
            _upload(client, headers, color=(i, i, 255 - i))
        client.get("/api/v1/assets?size=1", headers=headers)  # warm the caller's cache

        def run(url: str, size: int) -> int:
            statements.clear()
            page = client.get(url, headers=headers).json()
            assert len(page["items"]) == size and page["total"] == 60
            assert [i["id"] for i in page["items"]] == sorted(
                (i["id"] for i in page["items"]), reverse=True)
            return len(statements)

        event.listen(get_engine(settings), "before_cursor_execute", count)
        try:
            # Fixed per page whatever its size (no N+1); the caller, their session and rights
            # come from the cache. A new page: count + ids + one query for the rows not cached.
            assert run("/api/v1/assets?size=5", 5) == 3
            assert run("/api/v1/assets?size=5", 5) == 0  # the same page again: all cached
            assert run("/api/v1/assets?size=50", 50) == 3  # 45 rows not cached yet
            assert run("/api/v1/assets?size=50&type=image", 50) == 2  # rows cached: count + ids
            assert run("/api/v1/assets?size=50&type=image", 50) == 0
            # Any asset change moves the listing epoch: pages are computed afresh.
            first = client.get("/api/v1/assets?size=1", headers=headers).json()["items"][0]
            assert client.patch(f"/api/v1/assets/{first['id']}", headers=headers,
                                json={"title": "changed"}).status_code == 200
            assert run("/api/v1/assets?size=50&type=image", 50) == 3  # + the changed row
            assert run("/api/v1/assets?size=50&type=image", 50) == 0
        finally:
            event.remove(get_engine(settings), "before_cursor_execute", count)


def test_batched_counters_send_hits_to_redis_now_and_then(make_settings):
    one, two = _two_processes_counting_in_redis(make_settings)
    assert one.hit_with_retry("rl:ip", 60, sync_seconds=0.3)[0] == 1  # sent at once
    for n in range(2, 6):
        count, retry = one.hit_with_retry("rl:ip", 60, sync_seconds=0.3)
        assert count == n and 1 <= retry <= 60  # counted here, not sent yet
    assert two.get("rl:ip", 60) == 1
    assert two.hit_with_retry("rl:ip", 60, sync_seconds=0.3)[0] == 2  # sees one's first hit
    time.sleep(0.35)
    assert one.hit_with_retry("rl:ip", 60, sync_seconds=0.3)[0] == 7  # 4 held + this + two's
    assert two.get("rl:ip", 60) == 7
    assert one.local.get("rl:ip", 60) == 0  # nothing counted in-process only


def test_announcements_are_seen_after_quiet_spells_and_from_redis_py_buffers():
    from openwan.cache.redisstore import Invalidations

    redis_available()
    flush_test_redis()

    def backend() -> RedisBackend:
        import redis

        return RedisBackend(redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=1),
                            Breaker(5))

    ours, theirs = backend(), backend()
    invalidations = Invalidations(ours, "versions-test")
    forgotten: list = []
    deadline = time.monotonic() + 5
    while not invalidations.drain(forgotten.append):  # until the subscription is confirmed
        assert time.monotonic() < deadline
        time.sleep(0.01)
    forgotten.clear()
    assert invalidations._quiet()  # nothing announced: no read at all

    def announce(key: str) -> None:
        theirs.set_versions({key: b"v"}, 60, "versions-test")
        # Delivered to our socket (not read yet): the next drain must not skip it.
        deadline = time.monotonic() + 5
        while invalidations._quiet():
            assert time.monotonic() < deadline
            time.sleep(0.005)

    announce("v:asset:1")
    assert invalidations.drain(forgotten.append) and forgotten == [["v:asset:1"]]
    # Bytes redis-py already took off the socket (its buffer) count as unread too.
    announce("v:asset:2")
    assert invalidations._pubsub.connection.can_read(timeout=1)
    assert invalidations.drain(forgotten.append) and forgotten[-1] == ["v:asset:2"]
    assert invalidations._quiet()
    invalidations.close()
    ours.close()
    theirs.close()
