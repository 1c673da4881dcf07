"""Shared fixtures: real databases (SQLite, MariaDB, PostgreSQL), a moto server, the app.

Tests that need MariaDB, PostgreSQL or Redis skip with the reason when the service is down,
unless OPENWAN_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from openwan.config import Settings, set_settings

REQUIRE_SERVICES = os.environ.get("OPENWAN_REQUIRE_SERVICES") == "1"
MARIADB_ADMIN = os.environ.get("OPENWAN_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_ADMIN = os.environ.get("OPENWAN_TEST_POSTGRES",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OPENWAN_TEST_REDIS", "redis://127.0.0.1:6379/15")
ADMIN_PASSWORD = "Correct-Horse-Battery-9"
BACKENDS = ["sqlite", "mariadb", "postgres"]


def service_missing(name: str, reason: str) -> None:
    message = f"{name} is not reachable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(message + "; OPENWAN_REQUIRE_SERVICES=1 demands it")
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the backend named by the test's ``backend`` parameter."""
    backend = getattr(request, "param", "sqlite")
    name = f"openwan_t_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'openwan.db'}"
        return
    if backend == "mariadb":
        if not _port_open("127.0.0.1", 3306):
            service_missing("MariaDB", "127.0.0.1:3306 closed")
        admin = create_engine(MARIADB_ADMIN)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_unicode_ci"))
        url = MARIADB_ADMIN.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"
    elif backend == "postgres":
        if not _port_open("127.0.0.1", 5432):
            service_missing("PostgreSQL", "127.0.0.1:5432 closed")
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"))
        url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    else:  # pragma: no cover
        raise ValueError(backend)
    try:
        yield url
    finally:
        from openwan.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            if backend == "postgres":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def all_backends(fn):
    """Run a test on SQLite, MariaDB and PostgreSQL."""
    return pytest.mark.parametrize("database_url", BACKENDS, indirect=True)(fn)


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**env: str) -> Settings:
        base = {"OPENWAN_DATA_DIR": str(tmp_path / "var"), "OPENWAN_ENV": "test",
                "JWT_SECRET": "test-secret-" + "x" * 40}
        base.update(env)
        old = {k: os.environ.get(k) for k in base}
        os.environ.update(base)
        try:
            return Settings()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    return make


@pytest.fixture
def settings(make_settings, database_url: str) -> Iterator[Settings]:
    from openwan import migrate
    from openwan.db import dispose_engines

    settings = make_settings(OPENWAN_DATABASE_URL=database_url)
    migrate.upgrade(settings.database_url)
    set_settings(settings)
    yield settings
    set_settings(None)
    dispose_engines()


@pytest.fixture
def admin(settings: Settings):
    from openwan.access import service
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        user = service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
    return user


@pytest.fixture
def app(settings: Settings):
    from openwan.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        yield client


def login(client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def auth(client, admin) -> dict[str, str]:
    return login(client, "admin", ADMIN_PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, app) -> None:
        import uvicorn

        from openwan.kit.http import protocol

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The HTTP protocol `openwan serve` runs.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", http=protocol())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 emulating S3, SQS, Secrets Manager and CloudWatch."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


def stray_files(settings: Settings) -> list[str]:
    """Files in storage or the upload area that no asset or upload row accounts for."""
    from sqlalchemy import select

    from openwan.db import unit_of_work
    from openwan.models import Asset, Upload

    with unit_of_work(settings) as session:
        keys = set(session.scalars(select(Asset.storage_key)).all())
        uploads = {f"{u}.part" for u in session.scalars(select(Upload.id)).all()}
    root = settings.data_dir / "storage"
    found = []
    if root.exists():
        for path in root.rglob("*"):
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                if rel.startswith(".tmp/") or rel not in keys:
                    found.append(rel)
    if settings.uploads_dir.exists():
        for path in settings.uploads_dir.iterdir():
            if path.name not in uploads:
                found.append(f"uploads/{path.name}")
    return found
