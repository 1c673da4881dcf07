"""The rehearsal: the production shape on one machine (see stack.py), driven as users and an
operator would drive it, through the load balancer."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.media import make_video
from tests.rehearsal.stack import ADMIN_PASSWORD, Stack

pytestmark = pytest.mark.slow

TUS = {"Tus-Resumable": "1.0.0"}


def _wait(predicate, timeout: float, what: str, stack: Stack | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "" if stack is None else "\n".join(
        f"--- {name}\n{stack.log_tail(name)}" for name in stack.logs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def _video(path, seconds: float, size: str = "640x360", **kw):
    # MPEG-2: not browser-ready, so every job transcodes (and takes a while).
    return make_video(path, seconds=seconds, size=size,
                      extra=("-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2", "-f", "mpeg"))


def test_two_backends_two_workers_behind_a_load_balancer(tmp_path):
    with Stack(tmp_path / "stack") as stack:
        started = time.monotonic()
        lb = stack.url
        token = httpx.post(f"{lb}/api/v1/auth/login", json={
            "username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        db = create_engine(stack.database_url)

        def jobs() -> list:
            with db.connect() as conn:
                return conn.execute(text("SELECT asset_id, state, worker, attempts "
                                         "FROM jobs ORDER BY id")).all()

        def state(asset_id: int) -> str:
            return httpx.get(f"{lb}/api/v1/assets/{asset_id}", headers=auth).json()[
                "media_state"]

        # 1. A tus upload, one connection per PATCH: HAProxy alternates the backends.
        master = _video(tmp_path / "tus.mpg", seconds=3)
        data = master.read_bytes()
        meta = f"filename {base64.b64encode(b'tus.mpg').decode()}"
        created = httpx.post(f"{lb}/api/v1/uploads", headers={
            **auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        if location.startswith("/"):
            location = lb + location
        served = []
        chunk = max(64 * 1024, len(data) // 6)
        for offset in range(0, len(data), chunk):
            response = httpx.patch(location, content=data[offset:offset + chunk], headers={
                **auth, **TUS, "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset), "Connection": "close"})
            assert response.status_code == 204, response.text
            served.append(response.headers["x-served-by"])
        assert set(served) == {"backend-0", "backend-1"}, served
        assert all(a != b for a, b in zip(served, served[1:], strict=False)), served
        tus_asset = httpx.get(location, headers=auth).json()["asset_id"]
        asset = httpx.get(f"{lb}/api/v1/assets/{tus_asset}", headers=auth).json()
        assert asset["sha256"] == hashlib.sha256(data).hexdigest()
        assert asset["size"] == len(data)

        # 2. More uploads: the jobs spread over both workers.
        uploaded = [tus_asset]
        for n in range(3):
            path = _video(tmp_path / f"clip{n}.mpg", seconds=2 + n, size="480x270")
            with open(path, "rb") as f:
                response = httpx.post(f"{lb}/api/v1/assets", headers=auth,
                                      files={"file": (path.name, f, "video/mpeg")}, timeout=60)
            assert response.status_code == 201, response.text
            uploaded.append(response.json()["id"])
        _wait(lambda: all(state(a) == "ready" for a in uploaded), 120, "four assets ready",
              stack)
        pids = {int(w.split(":")[1]) for _, _, w, _ in jobs() if w}
        workers = {stack.procs["worker-0"].pid, stack.procs["worker-1"].pid}
        assert pids == workers, (pids, workers)

        # 3. A worker killed mid-job: the other one finishes the job.
        path = _video(tmp_path / "long.mpg", seconds=8, size="1280x720")
        with open(path, "rb") as f:
            victim_asset = httpx.post(f"{lb}/api/v1/assets", headers=auth, timeout=60,
                                      files={"file": (path.name, f, "video/mpeg")}).json()["id"]

        def running() -> str | None:
            for asset_id, job_state, worker, _ in jobs():
                if asset_id == victim_asset and job_state == "running" and worker:
                    return worker
            return None

        holder = int(_wait(running, 60, "the long job to start", stack).split(":")[1])
        name = next(n for n in ("worker-0", "worker-1") if stack.procs[n].pid == holder)
        assert [stack.check_worker(n) for n in ("worker-0", "worker-1")] == [0, 0]
        stack.kill(name)
        assert stack.check_worker(name) == 1  # its health check fails: ECS replaces it
        killed = time.monotonic()
        _wait(lambda: any(r[0] == victim_asset and r[3] == 2 for r in jobs()), 60,
              "the job to be reclaimed", stack)
        reclaimed = time.monotonic() - killed
        _wait(lambda: state(victim_asset) == "ready", 120, "the killed worker's job", stack)
        finished = time.monotonic() - killed
        [row] = [r for r in jobs() if r[0] == victim_asset]
        assert row.state == "done" and row.attempts == 2
        survivor = next(p.pid for n, p in stack.procs.items() if n.startswith("worker-"))
        assert int(row.worker.split(":")[1]) == survivor
        print(f"\nrehearsal: the killed worker's job was reclaimed {reclaimed:.1f} s and "
              f"finished by the other worker {finished:.1f} s after kill -9")
        assert all(state(a) == "ready" for a in uploaded)  # nothing lost

        # 4. A change made through one backend is seen through the other at once.
        one, other = (f"http://127.0.0.1:{p}" for p in stack.backend_ports)
        before = httpx.get(f"{other}/api/v1/assets/{tus_asset}", headers=auth).json()
        assert before["title"] != "Renamed through backend 0"
        changed = httpx.patch(f"{one}/api/v1/assets/{tus_asset}", headers=auth,
                              json={"title": "Renamed through backend 0"})
        assert changed.status_code == 200, changed.text
        after = httpx.get(f"{other}/api/v1/assets/{tus_asset}", headers=auth).json()
        assert after["title"] == "Renamed through backend 0"
        category = httpx.post(f"{other}/api/v1/categories", headers=auth,
                              json={"name": f"Rehearsal {os.getpid()}", "parent_id": None})
        assert category.status_code == 201, category.text
        listed = httpx.get(f"{one}/api/v1/categories", headers=auth).json()
        names = [c["name"] for c in listed.get("items", listed)] if isinstance(listed, dict) \
            else [c["name"] for c in listed]
        assert f"Rehearsal {os.getpid()}" in names
        db.dispose()
        print(f"rehearsal: start-up {stack.startup_seconds:.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in stack.phases.items())}), then "
              f"{time.monotonic() - started:.1f} s")
