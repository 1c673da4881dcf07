"""Local file system storage: atomic, durable writes (temp file, fsync, rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from openwan.kit.appender import FileAppender
from openwan.kit.sweep import SAFE_AGE, hold, sweep
from openwan.storage.base import ObjectNotFound, StorageError, check_key

TEMP_PREFIX = "w-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalWriter:
    def __init__(self, root: Path, target: Path, hasher: Any = None) -> None:
        self._target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root / ".tmp", prefix=TEMP_PREFIX)
        hold(fd)  # a crash leaves the file; the sweep (sweep_temp) takes it once unheld
        self._tmp = Path(tmp)
        self._fd = fd
        self._appender: FileAppender | None = FileAppender(
            tmp, fd, 0, [hasher] if hasher is not None else [])

    def write(self, *chunks: bytes) -> None:
        if self._appender is None:
            raise StorageError("this writer was flushed: nothing more can be written")
        self._appender.write(chunks)

    def flush(self) -> None:
        if self._appender is not None:
            appender, self._appender = self._appender, None
            appender.close()

    def commit(self) -> None:
        self.flush()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        os.replace(self._tmp, self._target)
        _fsync_dir(self._target.parent)

    def abort(self) -> None:
        if self._appender is not None:
            self._appender.release()
            self._appender = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._tmp.unlink(missing_ok=True)


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / ".tmp").mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({self.root})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def open_writer(self, key: str, content_type: str = "application/octet-stream", *,
                    hasher: Any = None) -> LocalWriter:
        return LocalWriter(self.root, self._path(key), hasher)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream",
                 *, move: bool = False) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                with open(path, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(path, target)
                _fsync_dir(target.parent)
                return
            except OSError as exc:
                if exc.errno != 18:  # EXDEV: another file system; fall back to a copy
                    raise StorageError(f"cannot move into storage: {exc}") from exc
        writer = self.open_writer(key)
        try:
            with open(path, "rb") as f:
                while chunk := f.read(4 * 1024 * 1024):
                    writer.write(chunk)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        if move:
            path.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> None:
        writer = self.open_writer(key)
        try:
            writer.write(data)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        yield path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        count = 0
        for key in list(self.list(prefix)):
            self.delete(key)
            count += 1
        return count

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix.rstrip("/") if prefix else self.root
        if base.is_file():
            yield prefix
            return
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and ".tmp" not in path.relative_to(self.root).parts:
                yield path.relative_to(self.root).as_posix()

    def presigned_url(self, key: str, *, filename: str | None = None,
                      content_type: str | None = None, expires: int = 300) -> str | None:
        return None

    def path_of(self, key: str) -> Path | None:
        return self._path(key)

    def sweep_temp(self, older_than: float = SAFE_AGE) -> list[str]:
        """Remove the temporary files of writers that died with their process."""
        return sweep(self.root / ".tmp", prefix=TEMP_PREFIX, older_than=older_than)

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"storage root is not writable: {self.root.name}")

    def copy_to(self, key: str, dest: Path) -> None:
        shutil.copyfile(self._path(key), dest)
