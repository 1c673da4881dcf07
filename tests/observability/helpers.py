"""Helpers for the production-behaviour tests: captured JSON logs, a private Redis server."""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import REDIS_URL, free_port, service_missing

# Our own database number on the shared Redis, flushed by the tests that use it.
TEST_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/13"


class CapturedLogs:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """Every line parsed as JSON (fails the test if one is not)."""
        out = []
        for raw in self.text.splitlines():
            if raw.strip():
                out.append(json.loads(raw))
        return out

    def where(self, **fields) -> list[dict]:
        return [line for line in self.lines()
                if all(line.get(k) == v for k, v in fields.items())]


@contextmanager
def captured_logs(settings):
    """Install OpenWan's JSON logging on a buffer for the block; restore afterwards."""
    from openwan.observability.logging import configure_logging

    root = logging.getLogger()
    before_level, before_handlers = root.level, list(root.handlers)
    capture = CapturedLogs()
    handler = configure_logging(settings, stream=capture.stream)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.handlers[:] = before_handlers
        root.setLevel(before_level)
        logging.getLogger("uvicorn.access").disabled = False


def redis_available() -> None:
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError as exc:
        service_missing("Redis", str(exc))


def flush_test_redis() -> None:
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    client.flushdb()
    client.close()


class RedisServer:
    """A redis-server of our own on a free port, to stop and restart mid-test."""

    def __init__(self, tmp: Path, password: str | None = None) -> None:
        if shutil.which("redis-server") is None:
            service_missing("redis-server", "not installed")
        self.port = free_port()
        self.tmp = tmp
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", str(self.tmp)]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
