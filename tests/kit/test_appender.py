"""Appending straight to disk: the bytes land exactly, from any position, and skip the page
cache where the file system has direct I/O."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from openwan.kit import appender as appender_mod
from openwan.kit.appender import ALIGN, BUFFER, FileAppender


def _chunks() -> list[bytes]:
    # Odd sizes, an empty chunk, a memoryview, and one larger than the buffer.
    sizes = [1, 4095, 4097, 0, 65536, 12345, BUFFER + 777, 3, 200_000]
    chunks: list[bytes] = [os.urandom(n) for n in sizes]
    chunks.insert(4, memoryview(os.urandom(999)))  # type: ignore[arg-type]
    return chunks


def _append(path, start: int, blocks: list[list[bytes]], hashers=()) -> int:
    fd = os.open(path, os.O_RDWR)
    try:
        appender = FileAppender(path, fd, start, hashers)
        for block in blocks:
            appender.write(block)
        return appender.close()
    finally:
        os.close(fd)


@pytest.mark.parametrize("start", [0, 1, ALIGN - 1, ALIGN, 3 * ALIGN + 17])
def test_appends_exactly_from_any_position(tmp_path, start):
    path = tmp_path / "f"
    head = os.urandom(start)
    path.write_bytes(head)
    chunks = _chunks()
    sha, md5 = hashlib.sha256(), hashlib.md5()
    end = _append(path, start, [chunks[:3], chunks[3:7], chunks[7:]], [sha, md5])
    body = b"".join(bytes(c) for c in chunks)
    assert end == start + len(body)
    assert path.read_bytes() == head + body
    # The hashers saw the appended bytes, in order, and not the head read back.
    assert sha.digest() == hashlib.sha256(body).digest()
    assert md5.digest() == hashlib.md5(body).digest()


def test_appends_resume_where_the_last_one_ended(tmp_path):
    # As tus PATCHes do: each append starts at an unaligned end and leaves another.
    path = tmp_path / "f"
    path.write_bytes(b"")
    expected = b""
    sha = hashlib.sha256()
    for size in (5000, 1, ALIGN, 3 * BUFFER // 2 + 11, 7):
        data = os.urandom(size)
        assert _append(path, len(expected), [[data]], [sha]) == len(expected) + size
        expected += data
    assert path.read_bytes() == expected
    assert sha.digest() == hashlib.sha256(expected).digest()


@pytest.mark.parametrize("to_disk", [True, False], ids=["fdatasync", "file-only"])
def test_sync_puts_every_byte_written_in_the_file_and_goes_on(tmp_path, to_disk):
    """What a tus PATCH acknowledges: everything handed over is in the file, the buffered
    tail included (a crash of the process keeps it; ``to_disk`` a power cut too), and the
    appender goes on from there as if nothing happened."""
    path = tmp_path / "f"
    start = 3 * ALIGN + 17
    head = os.urandom(start)
    path.write_bytes(head)
    fd = os.open(path, os.O_RDWR)
    sha = hashlib.sha256()
    try:
        appender = FileAppender(path, fd, start, [sha])
        pieces = [os.urandom(n) for n in (1000, BUFFER, 5, ALIGN * 3 + 1, BUFFER - 77, 12)]
        written = head
        for piece in pieces:
            appender.write([piece])
            written += piece
            assert appender.sync(to_disk=to_disk) == len(written)
            with open(path, "rb") as f:  # another process reading the file after a crash
                assert f.read() == written
        assert appender.close() == len(written)
    finally:
        os.close(fd)
    assert path.read_bytes() == written
    assert sha.digest() == hashlib.sha256(written[start:]).digest()


def test_released_appender_writes_nothing_more_and_gives_its_buffer_back(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDWR)
    try:
        appender = FileAppender(path, fd, 0)
        appender.write([b"x" * 100])
        appender.release()
        appender.release()  # twice is harmless
    finally:
        os.close(fd)
    assert path.read_bytes() == b""
    assert appender_mod._idle  # the buffer is back for the next upload


def test_without_direct_io_the_page_cache_takes_the_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(appender_mod, "_open_direct", lambda path: None)
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    chunks = _chunks()
    end = _append(path, 3, [chunks])
    assert path.read_bytes() == b"abc" + b"".join(bytes(c) for c in chunks)
    assert end == path.stat().st_size


def _cached(path) -> bool:
    """Whether the file's first MiB is in the page cache (a read that may not wait for the
    disk succeeds only then)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1 << 20)], 0, os.RWF_NOWAIT)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_whole_blocks_bypass_the_page_cache(tmp_path):
    if not hasattr(os, "RWF_NOWAIT"):
        pytest.skip("no RWF_NOWAIT here to see what the page cache holds")
    try:
        probe = tmp_path / "probe"
        probe.write_bytes(b"")
        os.close(os.open(probe, os.O_WRONLY | os.O_DIRECT))
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            pytest.skip("this file system has no direct I/O")
        raise
    data = os.urandom(4 * BUFFER)
    buffered = tmp_path / "buffered"
    buffered.write_bytes(data)
    if not _cached(buffered):
        pytest.skip("this file system cannot tell what the page cache holds")
    direct = tmp_path / "direct"
    direct.write_bytes(b"")
    assert _append(direct, 0, [[data]]) == len(data)
    assert not _cached(direct)
    assert direct.read_bytes() == data
