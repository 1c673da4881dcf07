"""The worker's health file: written by ``openwan worker`` while all its threads go round,
read by ``openwan worker --check`` (the container health check). Imports little, so the
check starts fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

from openwan.config import Settings


def health_file(settings: Settings) -> Path:
    return settings.media.health_file or settings.data_dir / "worker.health"


def write_health(path: Path) -> None:
    """The process id and the time, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{os.getpid()} {time.time():.3f}\n")
    tmp.replace(path)


def check_health(settings: Settings) -> str | None:
    """``openwan worker --check``: None when the running worker's health file is fresh and
    its process alive; otherwise what is wrong."""
    path = health_file(settings)
    try:
        pid_text, written = path.read_text().split()
        pid, age = int(pid_text), time.time() - float(written)
    except FileNotFoundError:
        return f"no worker health file at {path} (not started, or stopped)"
    except (OSError, ValueError) as exc:
        return f"unreadable worker health file {path}: {exc}"
    if age > settings.media.health_seconds:
        return f"the worker's health file is {age:.0f} s old"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"the worker (process {pid}) is gone"
    except PermissionError:
        pass  # alive, under another user
    return None
