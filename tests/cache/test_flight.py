"""Concurrent misses of one cache entry share one load."""

from __future__ import annotations

import asyncio

import pytest

from openwan.cache.flight import shared


def test_one_load_per_key_in_flight():
    loads: list[str] = []

    async def load(key: str) -> str:
        loads.append(key)
        await asyncio.sleep(0.05)
        return f"value of {key}"

    async def main():
        return await asyncio.gather(*(shared(k, lambda k=k: load(k))
                                      for k in ("a", "a", "b", "a", "b")))

    assert asyncio.run(main()) == ["value of a", "value of a", "value of b", "value of a",
                                   "value of b"]
    assert sorted(loads) == ["a", "b"]

    async def later():  # a load that has finished is not reused: the next miss loads again
        return await shared("a", lambda: load("a"))

    asyncio.run(later())
    assert sorted(loads) == ["a", "a", "b"]


def test_a_failed_load_fails_every_waiter_and_is_not_kept():
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("database gone")

    async def main():
        return await asyncio.gather(*(shared("k", failing) for _ in range(3)),
                                    return_exceptions=True)

    results = asyncio.run(main())
    assert calls == 1 and all(isinstance(r, RuntimeError) for r in results)

    async def alone():
        with pytest.raises(RuntimeError):
            await shared("k", failing)

    asyncio.run(alone())
    assert calls == 2
