"""What a crash leaves behind (job work folders, half-written storage files) is swept once
nobody holds it and it is old enough; nothing in use, nothing recent, nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openwan.kit.sweep import hold_dir, sweep

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = time.time() - 7 * 86400


def _age(path: Path) -> None:
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (LONG_AGO, LONG_AGO), follow_symlinks=False)


def _in_a_process(code: str) -> tuple[subprocess.Popen, Path]:
    """Runs ``code`` (which prints a path and waits) in a process of its own."""
    process = subprocess.Popen([sys.executable, "-c", code + "\nprint(path, flush=True)\n"
                                "import time; time.sleep(120)"],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    return process, Path(process.stdout.readline().strip())


def _kill_9(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_a_work_folder_of_a_killed_worker_is_swept_and_one_in_use_is_not(tmp_path):
    root = tmp_path / "work"
    root.mkdir()
    process, held = _in_a_process(
        "import tempfile\nfrom pathlib import Path\nfrom openwan.kit.sweep import hold_dir\n"
        f"path = Path(tempfile.mkdtemp(prefix='job-7-', dir={str(root)!r}))\n"
        "(path / 'part.mp4').write_bytes(b'x' * 1000)\nfd = hold_dir(path)")
    try:
        recent = root / "job-8-recent"
        recent.mkdir()
        other = root / "not-a-job"
        other.mkdir()
        _age(held)
        _age(other)
        assert sweep(root, prefix="job-") == []  # held by a live worker; the other too new
        _kill_9(process)
        assert sweep(root, prefix="job-") == [held.name]
        assert not held.exists() and recent.exists() and other.exists()
    finally:
        if process.poll() is None:
            _kill_9(process)


def test_a_folder_this_process_holds_is_kept(tmp_path):
    folder = tmp_path / "job-1-x"
    folder.mkdir()
    fd = hold_dir(folder)
    try:
        _age(folder)
        assert sweep(tmp_path, prefix="job-", older_than=0) == []
    finally:
        os.close(fd)
    assert sweep(tmp_path, prefix="job-", older_than=0) == ["job-1-x"]


def test_a_storage_write_cut_off_by_a_crash_is_swept(tmp_path):
    root = tmp_path / "storage"
    process, temp = _in_a_process(
        "from pathlib import Path\nfrom openwan.storage.local import LocalStorage\n"
        f"writer = LocalStorage(Path({str(root)!r})).open_writer('original/video/x.mp4')\n"
        "writer.write(b'x' * 5000)\npath = writer._tmp")
    try:
        from openwan.storage.local import LocalStorage

        storage = LocalStorage(root)
        assert temp.parent == root / ".tmp" and temp.exists()
        assert storage.sweep_temp(older_than=0) == []  # an upload still being written
        _kill_9(process)
        assert temp.exists()  # what the crash left
        assert storage.sweep_temp(older_than=60) == []  # not old enough yet
        assert storage.sweep_temp(older_than=0) == [temp.name]
        assert not temp.exists()
    finally:
        if process.poll() is None:
            _kill_9(process)


def test_the_worker_and_the_server_sweep_at_start(settings, app):
    from fastapi.testclient import TestClient

    from openwan.media.worker import Worker
    from openwan.storage import get_storage

    left = settings.data_dir / "work" / "job-42-abcd"
    left.mkdir(parents=True)
    (left / "input").symlink_to("/etc/hostname")  # removed as a link, never followed
    _age(left)
    worker = Worker(settings, concurrency=1, reconcile=False).start()
    worker.stop(timeout=0)
    assert not left.exists() and Path("/etc/hostname").exists()

    get_storage(settings)  # makes the storage root and its .tmp
    cut_off = settings.data_dir / "storage" / ".tmp" / "w-crashed"
    cut_off.write_bytes(b"x" * 100)
    _age(cut_off)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while cut_off.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not cut_off.exists()
