"""A small wrapper around FFmpeg and other media tools. Imports nothing of OpenWan's.

Commands are argv lists (never a shell), run in a caller-given working directory, in their
own process group so a hard timeout kills the whole group, niced, and tied to the calling
thread's life on Linux (a worker killed with ``kill -9`` leaves no orphan encoder behind).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
try:  # resolved before any fork: the child only makes the call
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


class ToolError(RuntimeError):
    """A media tool failed; ``detail`` holds the end of its error output."""

    def __init__(self, message: str, *, returncode: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.detail = detail


class ToolTimeout(ToolError):
    pass


class Cancelled(ToolError):
    pass


def _child_setup(nice: int) -> Callable[[], None]:
    def setup() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if nice:
            os.nice(nice)

    return setup


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def run_process(argv: list[str], *, cwd: Path, timeout: float, nice: int = 0,
                cancel: threading.Event | None = None,
                on_line: Callable[[str], None] | None = None,
                stdout_path: Path | None = None) -> str:
    """Run ``argv`` in ``cwd``; return its standard output (unless ``on_line`` consumes it
    line by line or ``stdout_path`` receives it). Raises ``ToolError`` on a non-zero exit,
    ``ToolTimeout`` past ``timeout`` seconds, ``Cancelled`` when ``cancel`` is set."""
    stderr_path = cwd / f".stderr-{threading.get_ident()}-{time.monotonic_ns()}"
    out_file = open(stdout_path, "wb") if stdout_path else None  # noqa: SIM115
    try:
        with open(stderr_path, "wb") as err:
            try:
                proc = subprocess.Popen(
                    argv, cwd=cwd, stdin=subprocess.DEVNULL,
                    stdout=out_file or subprocess.PIPE, stderr=err, start_new_session=True,
                    preexec_fn=_child_setup(nice))  # noqa: PLW1509
            except FileNotFoundError as exc:
                raise ToolError(f"{argv[0]} is not installed") from exc
            chunks: list[bytes] = []
            reader = None
            if out_file is None:
                reader = threading.Thread(target=_read, args=(proc, on_line, chunks),
                                          daemon=True)
                reader.start()
            deadline = time.monotonic() + timeout
            while True:
                try:
                    proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if cancel is not None and cancel.is_set():
                    _kill_group(proc)
                    raise Cancelled(f"{Path(argv[0]).name} was stopped")
                if time.monotonic() > deadline:
                    _kill_group(proc)
                    raise ToolTimeout(f"{Path(argv[0]).name} took longer than {timeout:.0f} s")
            if reader is not None:
                reader.join(10)
        if proc.returncode != 0:
            detail = _tail(stderr_path)
            last = detail.splitlines()[-1] if detail else f"exit status {proc.returncode}"
            raise ToolError(f"{Path(argv[0]).name} failed: {last}", returncode=proc.returncode,
                            detail=detail)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        if out_file:
            out_file.close()
        stderr_path.unlink(missing_ok=True)


def _read(proc: subprocess.Popen, on_line, chunks: list[bytes]) -> None:
    assert proc.stdout is not None
    if on_line is None:
        chunks.append(proc.stdout.read())
        return
    for raw in proc.stdout:
        on_line(raw.decode("utf-8", "replace").rstrip("\n"))


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def input_options(source: str | Path) -> list[str]:
    """Options before ``-i source``: an HTTP(S) input (a presigned object URL) is read with
    reconnects on network errors and a read timeout, so a stalled connection fails the run
    instead of hanging it."""
    if not is_url(source):
        return []
    return ["-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "30",
            "-rw_timeout", str(120 * 1_000_000)]


def redact(text: str, source: str | Path) -> str:
    """``text`` without the URL of ``source`` (its query signs requests)."""
    if not is_url(source):
        return text
    source = str(source)
    return text.replace(source, "input").replace(source.split("?", 1)[0], "input")


def probe(path: Path | str, *, ffprobe: str = "ffprobe", timeout: float = 120,
          cwd: Path | None = None) -> dict[str, Any]:
    """ffprobe's JSON (format and streams) for ``path``, a file or an HTTP(S) URL."""
    if cwd is None:
        assert isinstance(path, Path), "a URL is probed in a given working directory"
        cwd = path.parent
    try:
        out = run_process([ffprobe, "-v", "error", "-hide_banner", *input_options(path),
                           "-print_format", "json", "-show_format", "-show_streams", str(path)],
                          cwd=cwd, timeout=timeout)
    except ToolError as exc:
        if not is_url(path):
            raise
        raise type(exc)(redact(str(exc), path), returncode=exc.returncode,
                        detail=redact(exc.detail, path)) from None
    try:
        return json.loads(out or "{}")
    except ValueError as exc:
        raise ToolError("ffprobe returned invalid JSON") from exc


class Progress:
    """Parses ``-progress pipe:1`` blocks; calls ``report(fraction)`` at most every
    ``every`` seconds (and at the end)."""

    def __init__(self, duration: float | None, report: Callable[[float], None],
                 every: float = 2.0) -> None:
        self.duration = duration
        self.report = report
        self.every = every
        self._last = 0.0
        self._out_time = 0.0

    def __call__(self, line: str) -> None:
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            self._out_time = max(self._out_time, int(value) / 1e6)
        elif key == "progress":
            now = time.monotonic()
            if value == "end" or now - self._last >= self.every:
                self._last = now
                fraction = 1.0 if value == "end" else (
                    min(0.999, self._out_time / self.duration) if self.duration else 0.0)
                self.report(fraction)


def run_ffmpeg(args: list[str], *, cwd: Path, timeout: float, ffmpeg: str = "ffmpeg",
               nice: int = 0, duration: float | None = None,
               on_progress: Callable[[float], None] | None = None,
               cancel: threading.Event | None = None) -> None:
    """Run ``ffmpeg`` with ``args`` (inputs, filters, outputs), reporting progress."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats",
            "-progress", "pipe:1", *args]
    progress = Progress(duration, on_progress) if on_progress else None
    run_process(argv, cwd=cwd, timeout=timeout, nice=nice, cancel=cancel,
                on_line=progress or (lambda _line: None))
