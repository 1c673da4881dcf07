"""Redis in cluster mode (ElastiCache's seed setting): detected from the configuration
endpoint's name or asked for explicitly, and counters shared by every process through a real
local cluster (3 masters, 3 replicas)."""

from __future__ import annotations

import contextlib
import logging

import pytest
from pydantic import ValidationError

from openwan import cache
from openwan.cache import SharedCounters
from openwan.cache.redisstore import (
    Breaker,
    RedisBackend,
    Unavailable,
    cluster_endpoint,
    decide_cluster,
    make_client,
    wants_cluster,
)
from openwan.middleware.ratelimit import RateLimiter


def test_the_local_cluster_has_three_masters_with_a_replica_each(redis_cluster):
    assert len(redis_cluster.masters()) == 3
    assert "cluster_state:ok" in redis_cluster.cli(redis_cluster.ports[0], "CLUSTER", "INFO")


def test_counters_on_a_cluster_are_shared(make_settings, cluster_url):
    settings = make_settings(OPENWAN_REDIS_URL=cluster_url, OPENWAN_REDIS_CLUSTER="true")
    first, second = SharedCounters(), SharedCounters()
    first.backend = RedisBackend(make_client(settings), Breaker(5))
    second.backend = RedisBackend(make_client(settings), Breaker(5))
    try:
        # Keys spread over the three masters' slots: every one is counted by both.
        for n in range(30):
            assert first.hit(f"k{n}", 60) == 1
            assert second.hit(f"k{n}", 60) == 2
            assert first.get(f"k{n}", 60) == 2
        assert not first.backend.breaker.is_open and not second.backend.breaker.is_open
    finally:
        first.backend.close()
        second.backend.close()


@pytest.mark.parametrize(("host", "expected"), [
    # In-transit encryption (the seed's): the configuration endpoint starts with clustercfg.
    ("clustercfg.openwan-redis.abc123.use1.cache.amazonaws.com", True),
    ("openwan-redis.abc123.clustercfg.use1.cache.amazonaws.com", True),
    ("master.openwan-redis.abc123.use1.cache.amazonaws.com", False),
    ("openwan-redis.abc123.ng.0001.use1.cache.amazonaws.com", False),
    ("myclustercfg.example.com", False),
])
def test_configuration_endpoints_are_recognised(host, expected):
    assert cluster_endpoint(host) is expected


def test_cluster_setting_is_tri_state(make_settings):
    tls = {"REDIS_HOST": "clustercfg.openwan-redis.abc123.use1.cache.amazonaws.com",
           "OPENWAN_REDIS_TLS": "true"}
    assert make_settings(**tls).redis.cluster == "auto"
    assert wants_cluster(make_settings(**tls)) is True
    assert wants_cluster(make_settings(**tls, OPENWAN_REDIS_CLUSTER="false")) is False
    plain = {"REDIS_HOST": "master.openwan-redis.abc123.use1.cache.amazonaws.com"}
    assert wants_cluster(make_settings(**plain)) is None  # auto: the server is asked
    assert wants_cluster(make_settings(**plain, OPENWAN_REDIS_CLUSTER="true")) is True
    assert make_settings(OPENWAN_REDIS_CLUSTER="1").redis.cluster == "true"
    with pytest.raises(ValidationError):
        make_settings(OPENWAN_REDIS_CLUSTER="sometimes")


def test_auto_asks_the_server_and_shares_counters_cluster_wide(make_settings, cluster_url):
    """A cluster behind a name that says nothing (127.0.0.1): auto asks and uses the cluster
    client, so every process counts against the same windows whatever the key's slot."""
    settings = make_settings(OPENWAN_REDIS_URL=cluster_url)
    assert decide_cluster(settings) is True
    backend = cache.configure(settings)
    assert backend is not None and backend._cluster
    other = SharedCounters()
    other.backend = RedisBackend(make_client(settings), Breaker(5))
    try:
        limits = [RateLimiter(limit=0, window=60, login_limit=3, login_window=60),
                  RateLimiter(limit=0, window=60, login_limit=3, login_window=60,
                              counters=other)]
        for n in range(12):  # addresses whose keys fall on different masters
            ip = f"192.0.2.{n}"
            answers = [limits[k % 2].check("POST", "/api/v1/auth/login", ip) for k in range(4)]
            assert answers[:3] == [None, None, None]
            assert answers[3] is not None and answers[3][0] == "login"
        assert not backend.breaker.is_open and not backend.breaker.cluster_mismatch
        # The row cache works on the cluster too (versions and values in several slots).
        entities = cache.entities()
        tokens = entities.tokens([("asset", 1), ("asset", 2)])
        assert tokens is not None
        entities.store([("asset", 1, tokens[0], b"one", "one")])
        entities.bump([("asset", 1)])
        assert entities.tokens([("asset", 1)])[0] != tokens[0]
    finally:
        other.backend.close()


def test_a_plain_client_on_a_cluster_says_so(make_settings, cluster_url, caplog):
    """OPENWAN_REDIS_CLUSTER=false against a cluster: MOVED answers are an error line and a
    metric, not a quiet per-process fallback, and /ready reports the cache degraded (200)."""
    from fastapi.testclient import TestClient

    from openwan import migrate
    from openwan.app import create_app
    from openwan.db import dispose_engines
    from openwan.observability.metrics import CACHE_DEGRADED, REDIS_CLUSTER_MISMATCH

    REDIS_CLUSTER_MISMATCH.set(0)
    settings = make_settings(OPENWAN_REDIS_URL=cluster_url, OPENWAN_REDIS_CLUSTER="false",
                             OPENWAN_DATABASE_URL=f"sqlite:///{settings_dir(make_settings)}")
    migrate.upgrade(settings.database_url)
    try:
        with TestClient(create_app(settings)) as client:
            backend = cache.redis_backend()
            assert backend is not None and not backend._cluster
            with caplog.at_level(logging.ERROR, logger="openwan.cache"):
                for n in range(20):  # some keys' slots are on another master: MOVED
                    with contextlib.suppress(Unavailable):
                        backend.hit(f"k{n}", 60)
            assert backend.breaker.cluster_mismatch
            assert REDIS_CLUSTER_MISMATCH._value.get() == 1
            assert [r for r in caplog.records if "cluster mode" in r.getMessage()
                    and r.levelno == logging.ERROR]
            ready = client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["cache"].startswith("degraded: Redis runs in cluster mode")
            assert CACHE_DEGRADED._value.get() == 1
    finally:
        cache.close()
        dispose_engines()


def settings_dir(make_settings) -> str:
    return str(make_settings().data_dir / "cluster.db")
