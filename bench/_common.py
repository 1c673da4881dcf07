"""Shared helpers for the benchmarks: a server subprocess, RSS sampling, JSON output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "Bench-Operator-Passphrase-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``openwan <command>`` in a subprocess on 127.0.0.1 with its own data dir."""

    def __init__(self, data_dir: Path, command: str = "up", **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("OPENWAN_")},
                    "OPENWAN_DATA_DIR": str(data_dir), "OPENWAN_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "OPENWAN_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), **env}
        self.command = command
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openwan", self.command, "--port", str(self.port),
             "--metrics-port", "0"], env=self.env, cwd=self.data_dir.parent,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def token(self) -> str:
        response = httpx.post(f"{self.url}/api/v1/auth/login",
                              json={"username": "admin", "password": ADMIN_PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]

    def rss(self) -> int:
        assert self.process is not None
        return rss_of(self.process.pid)


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRSS:
    """Samples a process's resident memory every 10 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base = rss_of(pid)
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_of(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def report(figures: dict) -> None:
    """The last line of every benchmark: one JSON object."""
    print(json.dumps(figures, sort_keys=True))
