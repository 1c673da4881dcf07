"""Fixtures for the suites that sign in many accounts (access, workflow): quick argon2 and
fresh login throttles. Their conftest files import them."""

from __future__ import annotations

import pytest

from openwan.cache import counters


def _reset() -> None:
    # The sign-in throttle lives in each test's fresh database; the per-address request
    # limits live in this process's counters.
    counters.local.clear()


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch):
    """Still argon2id, with cheaper cost parameters: this machine's two shared cores would
    otherwise spend most of these tests hashing."""
    from argon2 import PasswordHasher

    from openwan.access import passwords

    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", quick)
    monkeypatch.setattr(passwords, "_DUMMY", quick.hash("openwan-timing-equaliser"))


@pytest.fixture(autouse=True)
def _fresh_login_counters():
    """Sign-ins of one test must not be limited by the next's (TestClient's address is
    "testclient" for all of them)."""
    _reset()
    yield
    _reset()
