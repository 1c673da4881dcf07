"""Migrations on SQLite, MariaDB and PostgreSQL; no drift; Chinese text round-trips."""

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from openwan import migrate
from openwan.db import get_engine, unit_of_work
from openwan.models import Asset, Category, User
from tests.conftest import all_backends, free_port, service_missing


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


def _certificates(tmp: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 it signed, plus an unrelated CA."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=OpenWan test CA")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
        "other.pem", "-days", "2", "-subj", "/CN=Someone else's CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (tmp / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")
    return {name: tmp / f"{name}.pem" for name in ("ca", "other", "server")} | {
        "key": tmp / "server.key"}


@contextmanager
def _mariadb_with_tls(tmp: Path, certs: dict[str, Path]) -> Iterator[int]:
    """A private MariaDB serving TLS with ``certs`` (the shared one has TLS off)."""
    if shutil.which("mariadbd") is None or shutil.which("openssl") is None:
        service_missing("mariadbd", "mariadbd or openssl not installed")
    port = free_port()
    data = tmp / "data"
    data.mkdir()
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={tmp / 'sock'}", "--skip-grant-tables",
         f"--ssl-ca={certs['ca']}", f"--ssl-cert={certs['server']}", f"--ssl-key={certs['key']}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the private MariaDB did not start")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def test_mysql_over_tls_verifies_the_server_certificate(make_settings, tmp_path):
    """OPENWAN_DB_TLS + OPENWAN_DB_TLS_CA: the connection is encrypted and the server's
    certificate must chain to that CA; a server whose certificate does not is refused."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from openwan.db import dispose_engines, tls_connect_args

    certs = _certificates(tmp_path)
    with _mariadb_with_tls(tmp_path, certs) as port:
        url = f"mysql+pymysql://root@127.0.0.1:{port}/"
        plain = make_settings(OPENWAN_DATABASE_URL=url)
        assert tls_connect_args("mysql", plain) == {}
        trusted = make_settings(OPENWAN_DATABASE_URL=url, OPENWAN_DB_TLS="true",
                                OPENWAN_DB_TLS_CA=str(certs["ca"]))
        assert tls_connect_args("mysql", trusted) == {
            "ssl_verify_cert": True, "ssl_verify_identity": True, "ssl_ca": str(certs["ca"])}
        try:
            with get_engine(trusted).connect() as conn:
                cipher = conn.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1]
            assert cipher.startswith("TLS_")
            dispose_engines()
            wrong_ca = make_settings(OPENWAN_DATABASE_URL=url, OPENWAN_DB_TLS="true",
                                     OPENWAN_DB_TLS_CA=str(certs["other"]))
            with pytest.raises(OperationalError, match="certificate verify failed"), \
                    get_engine(wrong_ca).connect():
                pass
        finally:
            dispose_engines()


def test_postgres_tls_arguments(make_settings):
    settings = make_settings(OPENWAN_DB_TLS="1", OPENWAN_DB_TLS_CA="/etc/rds/global-bundle.pem")
    from openwan.db import tls_connect_args

    assert tls_connect_args("postgresql", settings) == {
        "sslmode": "verify-full", "sslrootcert": "/etc/rds/global-bundle.pem"}
    assert tls_connect_args("sqlite", settings) == {}


SECRET_ADMIN_PASSWORD = "Deploy-Step-19-Secret!"


def _migrate_process(tmp_path, url: str) -> subprocess.Popen:
    from tests.test_cli import cli_env

    env = cli_env(tmp_path, OPENWAN_DATABASE_URL=url,
                  OPENWAN_ADMIN_PASSWORD=SECRET_ADMIN_PASSWORD, OPENWAN_LOG_FORMAT="text")
    return subprocess.Popen([sys.executable, "-m", "openwan", "migrate"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.parametrize("database_url", ["mariadb", "postgres"], indirect=True)
def test_concurrent_migrations_take_turns_and_create_the_first_admin_once(tmp_path,
                                                                         database_url):
    """Two `openwan migrate` at once on a fresh database (two deployments, a retried task):
    one waits for the other's lock, both succeed, and the administrator is created once from
    OPENWAN_ADMIN_PASSWORD, which neither prints."""
    from openwan import migrate as migrations
    from openwan.models import User

    # A run that finds the lock taken waits for it, however long.
    with migrations.lock(database_url):
        waiting = _migrate_process(tmp_path, database_url)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(2)
        assert "alembic_version" not in inspect(create_engine(database_url)).get_table_names()
    racing = _migrate_process(tmp_path, database_url)
    outputs = [process.communicate(timeout=240)[0] for process in (waiting, racing)]
    assert [waiting.returncode, racing.returncode] == [0, 0], outputs
    for output in outputs:
        assert SECRET_ADMIN_PASSWORD not in output
        assert "database is up to date" in output
    assert sum("created the administrator account 'admin'" in o for o in outputs) == 1
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            admins = session.scalars(select(User).where(User.is_admin)).all()
            assert [a.username for a in admins] == ["admin"]
            from openwan.access.passwords import verify_password

            assert verify_password(admins[0].password_hash, SECRET_ADMIN_PASSWORD)
    finally:
        engine.dispose()


def test_sqlite_migrations_lock_a_file_beside_the_database(tmp_path):
    import threading

    from openwan import migrate as migrations

    url = f"sqlite:///{tmp_path / 'l.db'}"
    entered = threading.Event()

    def second() -> None:
        with migrations.lock(url):
            entered.set()

    with migrations.lock(url):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(1)  # flock is per open file: the second waits here too
    thread.join(10)
    assert entered.is_set()
    assert (tmp_path / "l.db.migrate.lock").exists()
