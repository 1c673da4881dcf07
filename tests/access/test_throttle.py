"""Sign-in throttling per (account, address) with backoff, and per address: wrong passwords
from one place never lock an account out for everyone else; state shared through the
database, so it holds across processes and backends."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openwan.access import throttle
from openwan.db import unit_of_work
from openwan.models import utcnow
from tests.conftest import ADMIN_PASSWORD, all_backends

REPO = Path(__file__).resolve().parents[2]
ATTACKER, USER_IP = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def behind_proxy(make_settings, settings, admin):
    """The app behind one trusted proxy, so tests can speak from several addresses."""
    from openwan.app import create_app

    proxied = make_settings(OPENWAN_DATABASE_URL=settings.database_url,
                            OPENWAN_TRUSTED_PROXY_HOPS="1")
    with TestClient(create_app(proxied)) as client:
        yield client


def _login(client, ip: str, password: str, username: str = "admin"):
    return client.post("/api/v1/auth/login", headers={"X-Forwarded-For": ip},
                       json={"username": username, "password": password})


def test_wrong_passwords_from_elsewhere_never_lock_the_administrator_out(behind_proxy):
    client = behind_proxy
    for _ in range(8):  # well past the old lock-out threshold of 5
        assert _login(client, ATTACKER, "wrong password!").status_code in (401, 429)
    assert _login(client, ATTACKER, ADMIN_PASSWORD).status_code == 429
    # The administrator, from their own address, signs in at once.
    assert _login(client, USER_IP, ADMIN_PASSWORD).status_code == 200
    # ... even while the guessing goes on.
    assert _login(client, ATTACKER, "another guess!").status_code == 429
    assert _login(client, USER_IP, ADMIN_PASSWORD).status_code == 200


def test_one_address_guessing_many_accounts_is_throttled(make_settings, settings, admin):
    from openwan.app import create_app

    strict = make_settings(OPENWAN_DATABASE_URL=settings.database_url,
                           OPENWAN_TRUSTED_PROXY_HOPS="1", OPENWAN_LOGIN_IP_MAX_FAILURES="6")
    with TestClient(create_app(strict)) as client:
        for n in range(6):  # one failure per account: no pair reaches its limit
            assert _login(client, ATTACKER, "nope-nope", f"user{n}").status_code == 401
        refused = _login(client, ATTACKER, ADMIN_PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert _login(client, ATTACKER, "nope-nope", "user99").status_code == 429
        assert _login(client, USER_IP, ADMIN_PASSWORD).status_code == 200


@all_backends
def test_backoff_doubles_and_a_success_clears_the_pair(settings):
    """Free failures, then waits of 30, 60, 120 s… from the latest failure, capped at the
    window; a new window starts afresh. On every backend (one upsert per key)."""
    t0 = utcnow()

    def wait(at, ip=ATTACKER) -> int:
        with unit_of_work(settings) as session:
            return throttle.wait_seconds(session, settings, "Admin", ip, now=at)

    def fail(at, ip=ATTACKER, username="admin") -> None:
        with unit_of_work(settings) as session:
            throttle.record_failure(session, settings, username, ip, now=at)

    for n in range(4):
        fail(t0 + timedelta(seconds=n))
    assert wait(t0 + timedelta(seconds=4)) == 0
    fail(t0 + timedelta(seconds=4))  # the fifth
    assert wait(t0 + timedelta(seconds=4)) == 30
    assert wait(t0 + timedelta(seconds=20)) == 14
    assert wait(t0 + timedelta(seconds=34)) == 0
    fail(t0 + timedelta(seconds=40))
    assert wait(t0 + timedelta(seconds=40)) == 60
    fail(t0 + timedelta(seconds=100))
    assert wait(t0 + timedelta(seconds=100)) == 120
    assert wait(t0 + timedelta(seconds=100), ip=USER_IP) == 0  # another address: no wait
    for n in range(10):
        fail(t0 + timedelta(seconds=300 + n))
    # Capped at the window (15 min), and never past its end (t0 + 900 s).
    assert wait(t0 + timedelta(seconds=309)) == 900 - 309
    # After the window, the next failure opens a new one with its free attempts.
    later = t0 + timedelta(seconds=1300)
    fail(later)
    assert wait(later) == 0
    for _ in range(4):
        fail(later)
    assert wait(later) == 30
    with unit_of_work(settings) as session:  # the right password (after the wait) clears it
        throttle.record_success(session, "ADMIN", ATTACKER)
    assert wait(later) == 0
    with unit_of_work(settings) as session:  # the address's row remains until its window ends
        assert throttle.purge(session, settings, now=later + timedelta(seconds=901)) == 1


def test_failures_in_another_process_count_here(settings, admin):
    """The state is in the database: failures made by another process (another task behind
    the load balancer) throttle this one, with or without Redis."""
    code = ("from openwan.config import Settings\nfrom openwan.access import throttle\n"
            "from openwan.db import unit_of_work\ns = Settings()\n"
            "for _ in range(5):\n"
            "    with unit_of_work(s) as session:\n"
            f"        throttle.record_failure(session, s, 'admin', '{ATTACKER}')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENWAN_DATA_DIR": str(settings.data_dir),
           "OPENWAN_DATABASE_URL": settings.database_url, "OPENWAN_ENV": "test",
           "JWT_SECRET": settings.jwt_secret}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    from openwan.access import service

    with unit_of_work(settings) as session, pytest.raises(service.TooManyAttempts):
        service.authenticate(session, "admin", ADMIN_PASSWORD, ip=ATTACKER, settings=settings)
    with unit_of_work(settings) as session:
        assert service.authenticate(session, "admin", ADMIN_PASSWORD, ip=USER_IP,
                                    settings=settings) is not None
