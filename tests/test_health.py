"""Health, liveness and readiness: a database that goes away (closed port or silent) gives a
quick 503 naming it, and readiness recovers when it is back; Redis and storage likewise."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.faults import TcpProxy
from tests.observability.helpers import RedisServer


def test_health_and_alive(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/alive").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    # The media queue is part of readiness once the pipeline is in the build.
    assert ready.json() == {"status": "ok",
                            "checks": {"database": "ok", "storage": "ok", "queue": "ok"}}


@pytest.mark.parametrize("database_url", ["postgres", "mariadb"], indirect=True)
def test_ready_fails_fast_on_a_closed_database_port_and_recovers(make_settings, database_url):
    from openwan import migrate
    from openwan.app import create_app
    from openwan.db import dispose_engines

    migrate.upgrade(database_url)
    real = make_url(database_url)
    proxy = TcpProxy(real.port)
    via_proxy = real.set(port=proxy.port).render_as_string(hide_password=False)
    # The local servers have no passwords, which only development accepts.
    settings = make_settings(OPENWAN_DATABASE_URL=via_proxy, OPENWAN_ENV="development")
    try:
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            down = client.get("/ready")
            assert time.monotonic() - started < 2.5
            assert down.status_code == 503
            assert down.json()["failing"] == ["database"]
            assert down.json()["checks"]["storage"] == "ok"
            assert client.get("/health").status_code == 200  # the process itself is fine
            proxy.open()
            up = client.get("/ready")
            assert up.status_code == 200, up.json()
            proxy.close()
            dispose_engines()  # drop pooled connections: the next check must dial again
            assert client.get("/ready").status_code == 503
            proxy.open()
            assert client.get("/ready").status_code == 200
    finally:
        proxy.close()
        dispose_engines()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_ready_times_out_on_a_database_that_does_not_answer(make_settings, database_url):
    from openwan.app import create_app
    from openwan.db import dispose_engines

    real = make_url(database_url)
    silent = TcpProxy(real.port, silent=True)
    silent.open()
    settings = make_settings(
        OPENWAN_DATABASE_URL=real.set(port=silent.port).render_as_string(hide_password=False),
        OPENWAN_HEALTH_TIMEOUT="1", OPENWAN_DB_CONNECT_TIMEOUT="3", OPENWAN_ENV="development")
    try:
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            response = client.get("/ready")
            elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "failed: timed out after 1 s"
        assert elapsed < 2.0
    finally:
        silent.close()
        dispose_engines()


def test_ready_reports_storage_and_the_cache_without_failing_on_it(make_settings, tmp_path,
                                                                    aws_env):
    from openwan import cache, migrate
    from openwan.app import create_app
    from openwan.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate.upgrade(url)
    server = RedisServer(tmp_path).start()
    settings = make_settings(OPENWAN_DATABASE_URL=url, OPENWAN_REDIS_URL=server.url,
                             OPENWAN_STORAGE_URL="s3://no-such-bucket-for-ready")
    try:
        with TestClient(create_app(settings)) as client:
            first = client.get("/ready").json()
            assert first["cache"] == "ok"
            assert first["failing"] == ["storage"]
            server.kill()
            second = client.get("/ready")
            assert second.status_code == 503
            assert second.json()["failing"] == ["storage"]  # Redis is not readiness
            assert second.json()["cache"].startswith("degraded: ")
    finally:
        server.kill()
        cache.close()
        dispose_engines()


def test_redis_down_leaves_the_process_ready_with_the_cache_degraded(make_settings, tmp_path,
                                                                      caplog):
    """Every request is served without Redis, so its absence is no reason to take the task
    out of the load balancer: 200, with the cache reported degraded (field, metric, log)."""
    from openwan import cache, migrate
    from openwan.app import create_app
    from openwan.db import dispose_engines
    from openwan.observability.metrics import CACHE_DEGRADED

    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate.upgrade(url)
    server = RedisServer(tmp_path).start()
    settings = make_settings(OPENWAN_DATABASE_URL=url, OPENWAN_REDIS_URL=server.url)
    try:
        with TestClient(create_app(settings)) as client:
            up = client.get("/ready")
            assert up.status_code == 200 and up.json()["cache"] == "ok"
            assert CACHE_DEGRADED._value.get() == 0
            server.kill()
            with caplog.at_level(logging.WARNING, logger="openwan.health"):
                down = client.get("/ready")
            assert down.status_code == 200, down.json()
            assert down.json()["status"] == "ok"
            assert down.json()["checks"] == {"database": "ok", "storage": "ok", "queue": "ok"}
            assert down.json()["cache"].startswith("degraded: ")
            assert CACHE_DEGRADED._value.get() == 1
            assert any("cache degraded" in r.getMessage() for r in caplog.records)
            server.start()
            back = client.get("/ready")
            assert back.status_code == 200 and back.json()["cache"] == "ok"
            assert CACHE_DEGRADED._value.get() == 0
    finally:
        server.kill()
        cache.close()
        dispose_engines()


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_a_database_outage_answers_503_with_retry_after(make_settings, database_url):
    """The database goes away after start-up (its port refuses connections): API calls answer
    503 with Retry-After and the JSON error shape, not 500; they succeed again once it is
    back."""
    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.db import dispose_engines, unit_of_work
    from tests.conftest import ADMIN_PASSWORD, login

    migrate.upgrade(database_url)
    real = make_url(database_url)
    proxy = TcpProxy(real.port)
    proxy.open()
    settings = make_settings(
        OPENWAN_DATABASE_URL=real.set(port=proxy.port).render_as_string(hide_password=False),
        OPENWAN_ENV="development")
    try:
        with unit_of_work(settings) as session:
            service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
        with TestClient(create_app(settings)) as client:
            admin = login(client, "admin", ADMIN_PASSWORD)
            assert client.get("/api/v1/assets", headers=admin).status_code == 200
            proxy.close()
            dispose_engines()  # pooled connections die with the server
            answers = [
                client.get("/api/v1/users", headers=admin),
                client.get("/api/v1/audit", headers=admin),
                client.post("/api/v1/categories", headers=admin, json={"name": "News"}),
                client.get("/api/v1/assets/1", headers=admin),  # the direct-dispatch route
                client.post("/api/v1/auth/login",
                            json={"username": "admin", "password": ADMIN_PASSWORD}),
            ]
            for answer in answers:
                assert answer.status_code == 503, (answer.request.url, answer.text)
                assert answer.headers["retry-after"] == "5"
                assert answer.json()["error"]["code"] == "database_unavailable"
            proxy.open()
            assert client.get("/api/v1/users", headers=admin).status_code == 200
    finally:
        proxy.close()
        dispose_engines()
