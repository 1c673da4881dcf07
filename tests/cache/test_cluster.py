"""Redis in cluster mode (ElastiCache's seed setting): detected from the configuration
endpoint's name or asked for explicitly, and counters shared by every process through a real
local cluster (3 masters, 3 replicas)."""

from __future__ import annotations

from openwan.cache import SharedCounters
from openwan.cache.redisstore import Breaker, RedisBackend, make_client


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
