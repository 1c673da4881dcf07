"""A small thread pool for blocking I/O and hashing off the event loop.

hashlib and os.write release the GIL on large buffers, so hashing and writing a block run in
parallel with each other and with receiving the next block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openwan-io")


async def run_io(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)
