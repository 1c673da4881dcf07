"""Blocking I/O off the event loop: a small shared pool (``run_io``) and, for streams, a
:class:`Pipeline` of blocks on reusable single-thread lanes.

hashlib and os.write release the GIL on large buffers, so a block is written and hashed
(:mod:`openwan.kit.appender`) while the event loop receives the next one.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openwan-io")


async def run_io(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


class Pipeline:
    """Blocks of a stream handed to each of ``sinks`` (blocking callables: a hash's update, a
    file's append) in order, each sink on a thread of its own, while the event loop goes on
    receiving the next blocks: up to ``depth`` blocks ahead before :meth:`push` waits.

    One thread per sink keeps every sink's blocks in order; the sinks run side by side. With a
    single block in flight, receiving would wait for the slowest sink (sha256, about as fast
    as the loop receives) after every block.
    """

    def __init__(self, *sinks: Callable[[list[bytes]], Any], depth: int = 4) -> None:
        self._sinks = sinks
        self._lanes = [take_lane() for _ in sinks]
        self._queued: deque[asyncio.Future] = deque()
        self._depth = depth

    async def push(self, block: list[bytes]) -> None:
        """Queue ``block`` for every sink; raises the first failure of an earlier block."""
        loop = asyncio.get_running_loop()
        self._queued.append(asyncio.gather(
            *(loop.run_in_executor(lane, sink, block)
              for lane, sink in zip(self._lanes, self._sinks, strict=True)),
            return_exceptions=True))
        while len(self._queued) > self._depth:
            _raise_first(await self._queued.popleft())

    async def drain(self) -> None:
        """Wait until every block pushed so far has gone through every sink; the pipeline
        stays open for more. Raises the first failure."""
        while self._queued:
            _raise_first(await self._queued.popleft())

    async def finish(self) -> None:
        """Wait until every block has gone through every sink, then release the threads;
        raises the first failure (after all have ended)."""
        try:
            results = await asyncio.gather(*self._queued)
            self._queued.clear()
            for result in results:
                _raise_first(result)
        finally:
            lanes, self._lanes = self._lanes, []
            for lane in lanes:
                return_lane(lane)


# Single-thread executors between pipelines: starting a thread waits for it to run, which
# would stall the event loop at every tus PATCH.
_IDLE_LANES: list[ThreadPoolExecutor] = []
_IDLE_MAX = 32
_lanes_lock = threading.Lock()


def take_lane() -> ThreadPoolExecutor:
    with _lanes_lock:
        if _IDLE_LANES:
            return _IDLE_LANES.pop()
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="openwan-lane")


def return_lane(lane: ThreadPoolExecutor) -> None:
    """Back to the idle lanes once its queued work is done (work still queued would hold up
    the next pipeline's blocks); beyond ``_IDLE_MAX`` the lane's thread ends."""
    def release(_: Any) -> None:
        with _lanes_lock:
            if len(_IDLE_LANES) < _IDLE_MAX:
                _IDLE_LANES.append(lane)
                return
        lane.shutdown(wait=False)

    lane.submit(lambda: None).add_done_callback(release)


def _raise_first(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result
