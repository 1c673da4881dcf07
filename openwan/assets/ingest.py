"""Receiving an original: sniff its type, hash and write it on the way through, once.

Used by the multipart route (streamed), and by tus completion and the CLI (from a file).
Nothing here touches the database; ``service.register`` records the asset afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from openwan.kit.errors import PayloadTooLarge, UnsupportedMediaType
from openwan.kit.filenames import clean_filename, extension_of
from openwan.kit.io import Pipeline, run_io
from openwan.kit.sniff import HEAD_SIZE, Refused, Sniffed, sniff
from openwan.storage import Storage, Writer, original_key

BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Received:
    """A complete original, durable under ``key`` once committed."""

    key: str
    size: int
    sha256: str
    sniffed: Sniffed
    filename: str


def classify(head: bytes, filename: str) -> Sniffed:
    try:
        return sniff(head, extension_of(filename))
    except Refused as exc:
        raise UnsupportedMediaType(str(exc)) from exc


class StreamingIngest:
    """Feed it the body chunk by chunk; it never holds more than two blocks in memory."""

    def __init__(self, storage: Storage, filename: str | None, max_size: int) -> None:
        self.storage = storage
        self.filename = clean_filename(filename)
        self.max_size = max_size
        self.size = 0
        self.sniffed: Sniffed | None = None
        self.key: str | None = None
        self._head = bytearray()
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._sha = hashlib.sha256()
        self._writer: Writer | None = None
        self._pipeline: Pipeline | None = None

    async def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.max_size:
            raise PayloadTooLarge(f"file is larger than the maximum of {self.max_size} bytes")
        if self._writer is None:
            self._head += data
            if len(self._head) < HEAD_SIZE:
                return
            data = self._open()
        self._pending.append(data)
        self._pending_len += len(data)
        if self._pending_len >= BLOCK:
            await self._flush()

    def _open(self) -> bytes:
        head = bytes(self._head)
        self._head = bytearray()
        self.sniffed = classify(head[:HEAD_SIZE], self.filename)
        self.key = original_key(self.sniffed.kind, self.sniffed.extension)
        # The writer hashes what it writes (from its own buffers, in large pieces).
        writer = self._writer = self.storage.open_writer(self.key, self.sniffed.mime,
                                                         hasher=self._sha)
        self._pipeline = Pipeline(lambda block: writer.write(*block))
        return head

    async def _flush(self) -> None:
        # The chunks go to the hash and the writer as they are (no joined copy on the loop).
        block = self._pending
        self._pending = []
        self._pending_len = 0
        assert self._pipeline is not None
        await self._pipeline.push(block)

    async def finish(self) -> Received:
        """All bytes are in: wait for the writes; the object is not yet committed."""
        if self._writer is None:
            if self.size == 0:
                raise UnsupportedMediaType("the file is empty")
            self._pending.append(self._open())
        if self._pending:
            await self._flush()
        assert self._pipeline is not None
        pipeline, self._pipeline = self._pipeline, None
        await pipeline.finish()
        await run_io(self._writer.flush)
        assert self.sniffed is not None and self.key is not None
        return Received(self.key, self.size, self._sha.hexdigest(), self.sniffed, self.filename)

    def commit(self) -> None:
        """Make the original durable under its key (blocking: call from a worker thread)."""
        assert self._writer is not None
        self._writer.commit()

    async def abort(self) -> None:
        if self._pipeline is not None:
            # Already failing: wait for the blocks in flight, whatever they raise.
            pipeline, self._pipeline = self._pipeline, None
            with contextlib.suppress(Exception):
                await pipeline.finish()
        if self._writer is not None:
            await run_io(self._writer.abort)
            self._writer = None


def hash_file(path: Path, upto: int | None = None) -> hashlib._Hash:
    sha = hashlib.sha256()
    remaining = upto
    with open(path, "rb") as f:
        while remaining is None or remaining > 0:
            chunk = f.read(BLOCK * 4 if remaining is None else min(BLOCK * 4, remaining))
            if not chunk:
                break
            sha.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return sha


def read_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_SIZE)
