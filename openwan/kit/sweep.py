"""Scratch files and folders that a crash leaves behind (job work folders, half-written
storage files), removed once nobody uses them.

Whoever uses a scratch entry holds a shared ``flock`` on it for as long as it does; the lock
goes with the process however it ends (kill -9 included), so an entry whose lock the sweeper
can take exclusively is nobody's. An entry must also be untouched for a while: a margin for
file systems without working locks, and for the instant between making an entry and locking
it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from contextlib import suppress
from pathlib import Path

log = logging.getLogger("openwan.sweep")

SAFE_AGE = 3600.0  # seconds an entry is left alone after its last change


def hold(fd: int) -> None:
    """Mark the open scratch file (or folder) ``fd`` in use until it is closed."""
    fcntl.flock(fd, fcntl.LOCK_SH)


def hold_dir(path: Path) -> int:
    """Mark the folder ``path`` in use until the returned descriptor is closed."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        hold(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sweep(root: Path, *, prefix: str = "", older_than: float = SAFE_AGE) -> list[str]:
    """Remove the entries of ``root`` named ``prefix…`` that nobody holds and nothing changed
    for ``older_than`` seconds; returns their names."""
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    cutoff = time.time() - older_than
    removed = []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            folder = entry.is_dir(follow_symlinks=False)
            if _last_change(entry.path, folder) > cutoff:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW
                         | (os.O_DIRECTORY if folder else 0))
        except OSError:  # gone meanwhile, or a symlink: not ours to judge
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use
            if folder:
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError as exc:
            log.warning("could not remove %s: %s", entry.name, exc)
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d abandoned scratch entries from %s", len(removed), root.name)
    return removed


def _last_change(path: str, folder: bool) -> float:
    """The newest modification time in ``path`` (symlinks not followed)."""
    newest = os.lstat(path).st_mtime
    if folder:
        for top, dirs, files in os.walk(path):
            for name in dirs + files:
                with suppress(FileNotFoundError):  # gone meanwhile
                    newest = max(newest, os.lstat(os.path.join(top, name)).st_mtime)
    return newest
