"""`openwan serve` as several processes on one port (OPENWAN_WEB_PROCESSES)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
                found.append(int(entry))
    return found


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.status, response.read().decode()


@pytest.mark.slow
def test_serve_runs_the_configured_processes_and_gathers_their_metrics(settings, tmp_path):
    port, metrics = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENWAN_DATA_DIR": str(settings.data_dir),
           "OPENWAN_DATABASE_URL": settings.database_url, "OPENWAN_ENV": "test",
           "JWT_SECRET": "test-secret-" + "x" * 40, "OPENWAN_WEB_PROCESSES": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "openwan", "serve", "--port", str(port),
                             "--metrics-port", str(metrics)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/health")[0] == 200 \
                        and len(_children(proc.pid)) == 2:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "serve did not start two processes"
            time.sleep(0.2)
        for _ in range(20):  # one connection each: the kernel spreads them
            assert _get(f"http://127.0.0.1:{port}/alive")[0] == 200
        status, text = _get(f"http://127.0.0.1:{metrics}/metrics")
        assert status == 200
        served = [line for line in text.splitlines()
                  if line.startswith("openwan_http_requests_total") and "/alive" in line]
        assert served and sum(float(line.rsplit(" ", 1)[1]) for line in served) >= 20
        # A server process that dies is replaced; the port keeps answering.
        victim = _children(proc.pid)[0]
        os.kill(victim, 9)
        deadline = time.monotonic() + 30
        while not (len(_children(proc.pid)) == 2 and victim not in _children(proc.pid)):
            assert time.monotonic() < deadline, "the dead server process was not replaced"
            time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert not _children(proc.pid)
