"""The openwan command, run as users run it: in a subprocess."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.media import jpeg_bytes, png_bytes

ROOT = Path(__file__).resolve().parents[1]


def run(args, env, input=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "openwan", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=env["HOME"])


def cli_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENWAN_", "DB_", "JWT"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT), OPENWAN_DATA_DIR=str(tmp_path / "var"),
               **extra)
    return env


def test_migrate_user_create_and_ingest(tmp_path):
    env = cli_env(tmp_path)
    assert run(["migrate"], env).returncode == 0
    weak = run(["user", "create", "alice", "--admin", "--password-stdin"], env, "short\n")
    assert weak.returncode != 0 and "at least" in weak.stderr
    created = run(["user", "create", "alice", "--admin", "--password-stdin"], env,
                  "Archive-Keeper-2026\n")
    assert created.returncode == 0, created.stderr
    assert "Archive-Keeper-2026" not in created.stdout
    again = run(["user", "create", "alice", "--password-stdin"], env, "Archive-Keeper-2026\n")
    assert again.returncode != 0 and "already exists" in again.stderr

    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(png_bytes(10, 10))
    (folder / "sub" / "b.jpg").write_bytes(jpeg_bytes(20, 20))
    (folder / "sub" / "tool.exe").write_bytes(b"MZ" + b"\0" * 100)
    flat = run(["ingest", str(folder)], env)
    assert flat.returncode == 0, flat.stderr
    assert "1 imported" in flat.stdout
    # A second, recursive run picks up the rest and skips what is already in.
    deep = run(["ingest", str(folder), "--recursive"], env)
    assert deep.returncode == 0, deep.stderr
    assert "1 imported, 1 duplicate, 1 refused" in deep.stdout
    assert "tool.exe" in deep.stdout + deep.stderr


def test_up_creates_the_admin_once_serves_and_stops_cleanly(tmp_path):
    env = cli_env(tmp_path)
    port = free_port()
    args = [sys.executable, "-m", "openwan", "up", "--port", str(port), "--metrics-port", "0"]
    process = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        password = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            match = re.search(r"password: (\S+)", line)
            if match:
                password = match.group(1)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        assert password, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/ready").status_code == 200
        login = httpx.post(f"{base}/api/v1/auth/login",
                           json={"username": "admin", "password": password})
        assert login.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert (tmp_path / "var" / "openwan.db").exists()
    # Second start: no new password is printed.
    process = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert not any("password" in line for line in seen)


def test_production_refuses_placeholder_secrets(tmp_path):
    env = cli_env(tmp_path, OPENWAN_ENV="production", JWT_SECRET="changeme")
    result = run(["serve", "--port", str(free_port())], env)
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr
