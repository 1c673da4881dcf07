"""The pipeline that hands blocks to their sinks off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from openwan.kit.io import Pipeline


def test_pipeline_keeps_each_sinks_order_and_bounds_what_is_in_flight():
    seen_a: list[int] = []
    seen_b: list[int] = []
    ahead = [0, 0]  # blocks pushed but not yet through sink b; the most at once
    lock = threading.Lock()

    def slow_b(block):
        time.sleep(0.002)
        with lock:
            seen_b.append(block[0])
            ahead[0] -= 1

    async def main():
        pipeline = Pipeline(lambda block: seen_a.append(block[0]), slow_b, depth=3)
        for n in range(40):
            with lock:
                ahead[0] += 1
                ahead[1] = max(ahead[1], ahead[0])
            await pipeline.push([n])
        await pipeline.finish()

    asyncio.run(main())
    assert seen_a == seen_b == list(range(40))
    assert 2 <= ahead[1] <= 4  # runs ahead of the slow sink, but only so far


def test_pipeline_raises_a_sinks_failure():
    def failing(block):
        if block[0] == 2:
            raise OSError("disk full")

    async def main():
        pipeline = Pipeline(failing, lambda block: None, depth=1)
        with pytest.raises(OSError, match="disk full"):
            for n in range(10):
                await pipeline.push([n])
            await pipeline.finish()
        await pipeline.finish()  # after a failure: waits for the rest, frees the threads

    asyncio.run(main())
