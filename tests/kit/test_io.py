"""Blocking I/O helpers: chunks written with ``pwritev`` and hashed without joining them."""

from __future__ import annotations

import hashlib
import os

from openwan.kit.io import hash_chunks, pwrite_chunks


def test_pwrite_chunks_writes_many_buffers_in_order_at_a_position(tmp_path):
    # More buffers than one pwritev takes, empty ones among them, and memoryviews.
    chunks = [bytes([i % 251]) * (i % 7) for i in range(3000)] + [memoryview(b"tail")]
    path = tmp_path / "f"
    path.write_bytes(b"HEAD")
    fd = os.open(path, os.O_RDWR)
    try:
        end = pwrite_chunks(fd, chunks, 4)
    finally:
        os.close(fd)
    joined = b"".join(chunks)
    assert end == 4 + len(joined)
    assert path.read_bytes() == b"HEAD" + joined
    hasher = hashlib.sha256()
    hash_chunks(hasher, chunks)
    assert hasher.hexdigest() == hashlib.sha256(joined).hexdigest()
