"""kill -9 of the server in the middle of a tus upload: no offset a client was given is lost
(HEAD never answers less than any earlier answer said), and the upload resumes to the right
sha256. The server runs as `openwan serve` in a subprocess, on the test's database."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, free_port
from tests.media import jpeg_bytes

ROOT = Path(__file__).resolve().parents[2]
TUS = {"Tus-Resumable": "1.0.0"}


class Server:
    def __init__(self, settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENWAN_")}
        env.update({"OPENWAN_DATABASE_URL": settings.database_url,
                    "OPENWAN_DATA_DIR": str(settings.data_dir), "OPENWAN_ENV": "test",
                    "JWT_SECRET": settings.jwt_secret, "OPENWAN_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(ROOT)})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openwan", "serve", "--port", str(self.port),
             "--metrics-port", "0"], env=env, cwd=settings.data_dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, no landing of open uploads, memory gone."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def servers(settings, admin):
    started: list[Server] = []

    def start() -> Server:
        started.append(Server(settings))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.kill()


def _patch(url, token, location, offset, body) -> int:
    response = httpx.patch(f"{url}{location}", content=body, timeout=30, headers={
        "Authorization": f"Bearer {token}", **TUS,
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)})
    assert response.status_code == 204, response.text
    return int(response.headers["upload-offset"])


def _head(url, token, location) -> int:
    response = httpx.head(f"{url}{location}", headers={"Authorization": f"Bearer {token}",
                                                      **TUS})
    assert response.status_code == 200
    return int(response.headers["upload-offset"])


def _patch_cut_off(server, token, location, offset, body, sent) -> None:
    """A PATCH whose body stops after ``sent`` bytes, then the server dies."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall((f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
                      "Content-Type: application/offset+octet-stream\r\n"
                      f"Upload-Offset: {offset}\r\nContent-Length: {len(body)}\r\n\r\n")
                     .encode() + body[:sent])
        time.sleep(0.5)  # the server receives and writes some of it
        server.kill()


def test_kill_9_mid_upload_loses_no_acknowledged_byte(servers):
    data = jpeg_bytes() + os.urandom(6 * 1024 * 1024 + 12_345)
    server = servers()
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={
        "username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
    name = base64.b64encode(b"crash.jpg").decode()
    created = httpx.post(f"{server.url}/api/v1/uploads", headers={
        "Authorization": f"Bearer {token}", **TUS, "Upload-Length": str(len(data)),
        "Upload-Metadata": f"filename {name}"})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    answers = []  # every offset any answer gave, in order
    offset = 0
    for size in (700_001, 1_500_000, 999_999):  # unaligned ends: a tail stays buffered
        offset = _patch(server.url, token, location, offset, data[offset:offset + size])
        answers.append(offset)
    # The next PATCH is cut off half-way by the crash.
    _patch_cut_off(server, token, location, offset, data[offset:offset + 2_000_000], 1_200_000)

    server = servers()
    answers.append(_head(server.url, token, location))
    assert answers[-1] >= max(answers[:-1]), answers
    offset = answers[-1]
    _patch(server.url, token, location, offset, data[offset:])
    status = httpx.get(f"{server.url}{location}",
                       headers={"Authorization": f"Bearer {token}"}).json()
    asset = httpx.get(f"{server.url}/api/v1/assets/{status['asset_id']}",
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
