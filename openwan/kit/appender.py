"""Appending a stream to a file straight to disk (``O_DIRECT``), past the page cache.

An original streamed in is written once and not read again soon. Through the page cache,
every byte costs the kernel a fresh page, a copy into it, and later its writeback and
eviction: on a 1 GiB upload that is more CPU than receiving the bytes, taken from the cores
that receive and hash them, and it pushes the machine's working set out of memory. Written
with ``O_DIRECT``, the disk takes the bytes by DMA from one reused, page-aligned buffer.

``O_DIRECT`` wants offsets, lengths and buffer addresses aligned to the device's block. The
buffer therefore always maps an aligned span of the file: an append that starts mid-block
first reads that block's head back into the buffer (and rewrites it unchanged); the unaligned
tail goes through the page cache at :meth:`FileAppender.close`. Where the file system has no
``O_DIRECT`` (tmpfs, some network file systems) every write goes through the page cache, as
any file write does. Durability is unchanged: the writer's ``fsync`` at the end flushes the
device cache and the few cached pages.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

from openwan.kit.io import return_lane, take_lane

ALIGN = 4096  # a multiple of every common logical block size (512, 4096)
BUFFER = 2 * 1024 * 1024  # one direct write; fills from the blocks of a stream

_idle: list[mmap.mmap] = []
_IDLE_MAX = 16
_idle_lock = threading.Lock()


def _take_buffer() -> mmap.mmap:
    # Reused: a fresh mapping costs a page fault per 4 KiB on its first fill.
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return mmap.mmap(-1, BUFFER)


def _return_buffer(buffer: mmap.mmap) -> None:
    with _idle_lock:
        if len(_idle) < _IDLE_MAX:
            _idle.append(buffer)
    # Beyond that it is unmapped once the last view of it is gone.


def _open_direct(path: Path | str) -> int | None:
    if not hasattr(os, "O_DIRECT"):
        return None
    try:
        return os.open(path, os.O_WRONLY | os.O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # this file system has no direct I/O
            return None
        raise


class FileAppender:
    """Writes chunks one after another into the file at ``path`` from ``position``, and feeds
    them, in order, to ``hashers``.

    ``fd`` is the caller's open descriptor of the same file (read-write), used for the head
    read and the page-cache writes; the caller keeps owning it. Not thread-safe: one thread
    (a pipeline's lane) calls :meth:`write` at a time. Bytes handed to :meth:`write` may stay
    in the buffer until :meth:`close`; :meth:`release` drops them (the caller truncates).

    The hashers read each filled buffer whole, in one call, on a thread of their own while
    this one writes it and fills the next: hashing the chunks as they arrive would take the
    GIL back after every 64-256 KiB chunk, and wait for it each time the event loop has it.
    """

    def __init__(self, path: Path | str, fd: int, position: int = 0,
                 hashers: Sequence[Any] = ()) -> None:
        self._fd = fd
        self._hashers = tuple(hashers)
        self._direct = _open_direct(path)
        count = 2 if self._hashers else 1  # one being hashed, one filling
        self._buffers = [_take_buffer() for _ in range(count)]
        self._views = [memoryview(b) for b in self._buffers]
        self._hashing: list[Future | None] = [None] * count
        self._lane = take_lane() if self._hashers else None
        self._current = 0
        # The current buffer maps the file from _base (aligned); _fill bytes of it are set,
        # those from _unhashed on not yet given to the hashers.
        self._base = position - position % ALIGN
        self._fill = self._unhashed = position - self._base
        if self._fill:
            head = os.pread(fd, self._fill, self._base)
            if len(head) != self._fill:
                self.release()
                raise OSError(errno.EIO, f"the file holds less than {position} bytes")
            self._views[0][:self._fill] = head

    @property
    def position(self) -> int:
        """Where the next byte goes (the file holds everything before it after :meth:`close`)."""
        return self._base + self._fill

    def sync(self, *, to_disk: bool = True) -> int:
        """Make every byte handed to :meth:`write` durable without ending the appender: in
        the file (a crash of the process keeps them) and, ``to_disk``, on the disk
        (``fdatasync``: a power cut keeps them too); returns the position after the last.

        The bytes the buffer still holds go through the page cache to their place in the
        file, and stay in the buffer: when it fills, the whole aligned span is written again,
        directly. Not while a :meth:`write` runs (the caller's pipeline is drained first).
        """
        if self._fill:
            _pwrite_all(self._fd, self._views[self._current][:self._fill], self._base)
        if to_disk:
            os.fdatasync(self._fd)
        return self.position

    def write(self, chunks: Sequence[bytes]) -> None:
        for chunk in chunks:
            data = memoryview(chunk).cast("B")
            taken = 0
            while taken < len(data):
                n = min(len(data) - taken, BUFFER - self._fill)
                self._views[self._current][self._fill:self._fill + n] = data[taken:taken + n]
                self._fill += n
                taken += n
                if self._fill == BUFFER:
                    self._hash_out()
                    self._write_out(BUFFER)
                    self._next_buffer()

    def __call__(self, block: Sequence[bytes]) -> None:
        """A pipeline sink (:class:`openwan.kit.io.Pipeline`)."""
        self.write(block)

    def close(self) -> int:
        """Write and hash what the buffer still holds; returns the position after the last
        byte. The appender is released either way."""
        try:
            end = self.position
            self._hash_out()
            aligned = self._fill - self._fill % ALIGN
            if aligned:
                self._write_out(aligned)
            if self._fill > aligned:
                _pwrite_all(self._fd, self._views[self._current][aligned:self._fill],
                            self._base + aligned)
            for pending in self._hashing:
                if pending is not None:
                    pending.result()
            return end
        finally:
            self.release()

    def release(self) -> None:
        """Give back the buffers, the hashing thread and the direct descriptor (what was not
        written is dropped)."""
        for pending in self._hashing:  # a hasher may still read a buffer
            if pending is not None:
                wait([pending])
        self._hashing = [None] * len(self._hashing)
        if self._direct is not None:
            os.close(self._direct)
            self._direct = None
        if self._lane is not None:
            return_lane(self._lane)
            self._lane = None
        buffers, self._buffers, self._views = self._buffers, [], []
        for buffer in buffers:
            _return_buffer(buffer)

    def _hash_out(self) -> None:
        """Hand the current buffer's unhashed bytes to the hashers' thread."""
        if self._lane is None or self._fill <= self._unhashed:
            return
        data = self._views[self._current][self._unhashed:self._fill]
        self._hashing[self._current] = self._lane.submit(_feed, self._hashers, data)
        self._unhashed = self._fill

    def _next_buffer(self) -> None:
        """Go on in the other buffer once its hashing is done; the file position moves on."""
        self._base += self._fill
        self._fill = self._unhashed = 0
        self._current = (self._current + 1) % len(self._buffers)
        pending, self._hashing[self._current] = self._hashing[self._current], None
        if pending is not None:
            pending.result()

    def _write_out(self, n: int) -> None:
        """Write the current buffer's first ``n`` bytes (aligned) at _base."""
        out = self._views[self._current][:n]
        if self._direct is not None:
            try:
                _pwrite_all(self._direct, out, self._base)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                # A stricter alignment than ALIGN: the page cache from here on (rewriting
                # the whole span: pwrite at explicit offsets).
                os.close(self._direct)
                self._direct = None
        _pwrite_all(self._fd, out, self._base)


def _pwrite_all(fd: int, data: memoryview, position: int) -> None:
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], position + written)


def _feed(hashers: Sequence[Any], data: memoryview) -> None:
    for hasher in hashers:
        hasher.update(data)
