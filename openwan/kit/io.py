"""A small thread pool for blocking I/O and hashing off the event loop.

hashlib and os.write release the GIL on large buffers, so hashing and writing a block run in
parallel with each other and with receiving the next block.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openwan-io")


async def run_io(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Tell the kernel the bytes just written at ``offset`` will not be read again soon: it
    starts writing them to disk now (``POSIX_FADV_DONTNEED`` on dirty pages) instead of at the
    final fsync, and drops them from the page cache once clean. An original streamed in this
    way is durable a moment after its last byte (the fsync has little left to do) and does not
    push the rest of the machine's working set out of memory."""
    if length > 0 and hasattr(os, "posix_fadvise"):
        with suppress(OSError):  # only a hint: the fsync at the end makes the file durable
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


# How many buffers one ``pwritev`` takes (POSIX guarantees at least 16; Linux allows 1024).
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16


def pwrite_chunks(fd: int, chunks: Sequence[bytes], position: int) -> int:
    """Write ``chunks`` one after another at ``position`` (``pwritev``: no joined copy of
    them is made first); returns the position after the last byte."""
    views = [memoryview(chunk) for chunk in chunks if len(chunk)]
    first = 0
    while first < len(views):
        written = os.pwritev(fd, views[first:first + _IOV_MAX], position)
        position += written
        while first < len(views) and written >= len(views[first]):
            written -= len(views[first])
            first += 1
        if written:  # a short write: the rest of this buffer goes next
            views[first] = views[first][written:]
    return position


def hash_chunks(hasher: Any, chunks: Sequence[bytes]) -> None:
    """Feed ``chunks`` to ``hasher`` in order (off the event loop: hashlib releases the GIL)."""
    for chunk in chunks:
        hasher.update(chunk)
