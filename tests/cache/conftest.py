from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with in-process counters and cache (tests configure Redis)."""
    from openwan import cache

    cache.close()
    yield
    cache.close()


from tests.cache.cluster import cluster_url, redis_cluster  # noqa: E402,F401 - fixtures
