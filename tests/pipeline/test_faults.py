"""Faults: killed workers, SIGTERM, storage errors, empty files, lost jobs, reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

from openwan.db import unit_of_work
from openwan.media import service
from openwan.models import Asset, Job
from tests.media import make_video
from tests.pipeline.conftest import add_asset, asset_row, drain, renditions

REPO = Path(__file__).resolve().parents[2]


def _slow_source(tmp_path: Path, seconds: int = 12) -> Path:
    # Not browser-ready (MPEG-2), long enough to be caught mid-transcode with one thread.
    return make_video(tmp_path / "slow.mpg", seconds=seconds, size="1280x720",
                      extra=("-c:v", "mpeg2video", "-q:v", "6", "-c:a", "mp2", "-f", "mpeg"))


def _spawn_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "openwan", "worker"],
                            env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _job(settings, asset_id) -> Job:
    with unit_of_work(settings) as session:
        return session.scalars(select(Job).where(Job.asset_id == asset_id)
                               .order_by(Job.id.desc())).first()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _encoders_in(work: Path) -> list[int]:
    """FFmpeg processes still working in the worker's job folders."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/cwd").startswith(str(work)):
                    found.append(int(pid))
            except OSError:
                continue
    return found


def _kill_mid_transcode(settings, env, asset_id, attempt: int) -> None:
    proc = _spawn_worker(env)
    try:
        _wait(lambda: (j := _job(settings, asset_id)) and j.stage == "transcode"
              and j.attempts == attempt, 60, f"attempt {attempt} to reach the transcode")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # The encoder dies with its worker (no orphan keeps burning CPU).
    _wait(lambda: not _encoders_in(settings.data_dir / "work"), 10, "FFmpeg to die")


ENV = {"OPENWAN_QUEUE_VISIBILITY": "2", "OPENWAN_RECONCILE_SECONDS": "1", "FFMPEG_THREADS": "1",
       "OPENWAN_QUEUE_WAIT": "1"}


def test_killed_worker_job_reappears_and_completes(configure, tmp_path):
    settings, env, admin = configure(**ENV)
    asset_id = add_asset(settings, admin, _slow_source(tmp_path))
    _kill_mid_transcode(settings, env, asset_id, attempt=1)
    assert asset_row(settings, asset_id).media_state == "processing"
    proc = _spawn_worker(env)
    try:
        _wait(lambda: asset_row(settings, asset_id).media_state == "ready", 90, "ready")
    finally:
        proc.terminate()
        proc.wait(30)
    job = _job(settings, asset_id)
    assert job.state == "done" and job.attempts == 2
    assert "720p" in renditions(settings, asset_id)


def test_three_kills_dead_letter_the_job_and_fail_the_asset(configure, tmp_path):
    settings, env, admin = configure(**ENV)
    asset_id = add_asset(settings, admin, _slow_source(tmp_path))
    for attempt in (1, 2, 3):
        _kill_mid_transcode(settings, env, asset_id, attempt)
    proc = _spawn_worker(env)  # its receive moves the message to the DLQ; its reconciler
    try:                      # notices the job will never come back
        _wait(lambda: asset_row(settings, asset_id).media_state == "failed", 30, "failed")
    finally:
        proc.terminate()
        proc.wait(30)
    asset = asset_row(settings, asset_id)
    assert "gave up after 3 attempts" in asset.media_error and "transcode" in asset.media_error
    assert _job(settings, asset_id).state == "dead"
    cli = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "openwan", "jobs", "dlq"], env=cli,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert f'"asset_id": {asset_id}' in out and "1 dead letter" in out
    out = subprocess.run([sys.executable, "-m", "openwan", "jobs", "redrive"], env=cli,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "redrove 1 job" in out
    assert asset_row(settings, asset_id).media_state == "queued"
    out = subprocess.run([sys.executable, "-m", "openwan", "jobs", "list", "--state", "queued"],
                         env=cli, capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"asset {asset_id}" in out and "queue: 1 waiting" in out


def test_sigterm_hands_the_job_back_and_exits(configure, tmp_path):
    settings, env, admin = configure(**ENV, OPENWAN_WORKER_SHUTDOWN_SECONDS="1")
    asset_id = add_asset(settings, admin, _slow_source(tmp_path))
    proc = _spawn_worker(env)
    _wait(lambda: (j := _job(settings, asset_id)) and j.stage == "transcode", 60, "transcode")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, proc.stderr.read().decode()
    assert time.monotonic() - started < 15
    assert not _encoders_in(settings.data_dir / "work")
    job = _job(settings, asset_id)
    assert job.state == "queued" and job.stage == "handed back"
    assert asset_row(settings, asset_id).media_state == "queued"
    from openwan.queue import get_queue

    # Visible again at once (visibility 0), not after the timeout.
    stats = get_queue(settings).stats()
    assert stats.visible == 1 and stats.in_flight == 0


def test_storage_errors_are_retried_and_never_half_visible(configure, tmp_path):
    settings, env, admin = configure(OPENWAN_JOB_RETRY_SECONDS="0", OPENWAN_QUEUE_WAIT="1")
    src = make_video(tmp_path / "clip.mkv", seconds=2, extra=("-c:v", "mpeg4"))
    asset_id = add_asset(settings, admin, src)
    storage_root = settings.data_dir / "storage"
    # A folder where the sprite index must go: that write fails, even as root.
    blocker = storage_root / f"thumbnails/{asset_id}/sprite.vtt"
    blocker.mkdir(parents=True)
    from openwan.media.worker import Worker

    worker = Worker(settings, reconcile=False)
    from openwan.queue import get_queue

    worker.handle(get_queue(settings).receive(wait_seconds=1)[0])
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "queued"
    assert asset.media_error.startswith("attempt 1 failed at store")
    assert renditions(settings, asset_id) == {}
    # What this attempt had stored already was removed again: nothing half-visible.
    assert not (storage_root / f"preview/video/{asset_id}/720p.mp4").exists()
    assert not (storage_root / f"thumbnails/{asset_id}/poster.jpg").exists()
    blocker.rmdir()
    assert drain(settings) == 1
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready" and asset.media_error is None
    assert _job(settings, asset_id).attempts == 2


def test_last_attempt_failure_gives_up(configure, tmp_path):
    settings, env, admin = configure(OPENWAN_JOB_RETRY_SECONDS="0",
                                     OPENWAN_QUEUE_MAX_RECEIVES="2")
    asset_id = add_asset(settings, admin, make_video(tmp_path / "c.mkv", seconds=1,
                                                     extra=("-c:v", "mpeg4")))
    (settings.data_dir / "storage" / f"preview/video/{asset_id}/720p.mp4").mkdir(parents=True)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "failed"
    assert asset.media_error.startswith("gave up after 2 attempts; last error at store")
    from openwan.queue import get_queue

    q = get_queue(settings)
    assert q.receive(wait_seconds=0) == [] and q.stats().dead == 1


def test_zero_length_original_fails_cleanly(settings, admin):
    from openwan.storage import get_storage

    get_storage(settings).put_bytes("original/video/2026/01/empty.mp4", b"")
    with unit_of_work(settings) as session:
        asset = Asset(type="video", title="empty", filename="empty.mp4", extension="mp4",
                      size=0, sha256="0" * 64, mime_type="video/mp4",
                      storage_key="original/video/2026/01/empty.mp4", uploaded_by=admin.id,
                      catalog={}, technical={})
        session.add(asset)
        session.flush()
        asset_id = asset.id
    service.enqueue_asset(settings, asset_id)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "failed"
    assert asset.media_error == "probe: the file is empty (0 bytes)"


def test_job_for_a_deleted_asset_is_dropped_quietly(settings, admin, tmp_path):
    asset_id = add_asset(settings, admin, make_video(tmp_path / "gone.mp4", seconds=1))
    with unit_of_work(settings) as session:
        session.delete(session.get(Asset, asset_id))
    drain(settings)
    from openwan.queue import get_queue

    stats = get_queue(settings).stats()
    assert stats.visible == stats.in_flight == stats.dead == 0


def test_rerun_overwrites_the_same_keys(settings, admin, tmp_path):
    asset_id = add_asset(settings, admin, make_video(tmp_path / "again.mp4", seconds=1))
    drain(settings)
    first = {n: r.storage_key for n, r in renditions(settings, asset_id).items()}
    service.reprocess(settings, asset_id)
    assert asset_row(settings, asset_id).media_state == "queued"
    drain(settings)
    assert {n: r.storage_key for n, r in renditions(settings, asset_id).items()} == first
    assert asset_row(settings, asset_id).media_state == "ready"
    keys = sorted(p.relative_to(settings.data_dir / "storage").as_posix()
                  for p in (settings.data_dir / "storage").rglob("*")
                  if p.is_file() and ".tmp" not in p.parts and "original" not in p.parts)
    assert keys == sorted(first.values())


def test_reconciler_sends_lost_jobs_and_orphaned_assets(settings, admin, tmp_path):
    from datetime import timedelta

    from openwan.models import utcnow
    from openwan.queue import get_queue

    a = add_asset(settings, admin, make_video(tmp_path / "a.mp4", seconds=1))
    get_queue(settings).purge()  # the message is lost
    with unit_of_work(settings) as session:
        session.execute(update(Job).values(deadline=utcnow() - timedelta(seconds=1)))
    # An asset committed by a process that died before it could enqueue anything.
    from openwan.storage import get_storage

    src = make_video(tmp_path / "b.mp4", seconds=1, size="160x120")
    get_storage(settings).put_file("original/video/2026/01/b.mp4", src)
    with unit_of_work(settings) as session:
        row = Asset(type="video", title="b", filename="b.mp4", extension="mp4",
                    size=src.stat().st_size, sha256="1" * 64, mime_type="video/mp4",
                    storage_key="original/video/2026/01/b.mp4", uploaded_by=admin.id,
                    catalog={}, technical={})
        session.add(row)
        session.flush()
        b = row.id
    with unit_of_work(settings) as session:
        session.execute(update(Asset).where(Asset.id == b)
                        .values(created_at=utcnow() - timedelta(minutes=5)))
    counts = service.reconcile(settings)
    assert counts == {"resent": 2, "dead": 0, "created": 1}
    drain(settings)
    assert asset_row(settings, a).media_state == asset_row(settings, b).media_state == "ready"


def test_sqs_heartbeat_keeps_a_long_job_invisible(configure, aws_env, tmp_path):
    import json

    import boto3

    sqs = boto3.client("sqs")
    name = f"hb-{os.getpid()}-{time.time_ns() % 10**6}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "2",
                           "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn,
                                                        "maxReceiveCount": "3"})})["QueueUrl"]
    settings, env, admin = configure(SQS_QUEUE_URL=url, OPENWAN_QUEUE_VISIBILITY="2",
                                     OPENWAN_QUEUE_WAIT="1", FFMPEG_THREADS="1")
    # Twice the usual length: the job must outlast the visibility timeout and the other
    # consumer's next poll (over 3 s) on a fast machine too (12 s took 2.8 s on one).
    asset_id = add_asset(settings, admin, _slow_source(tmp_path, seconds=24))
    from openwan.media.worker import Worker

    # Two consumers: had the heartbeat not extended the message, the idle one would receive
    # it again after 2 s and the job would show a second attempt.
    worker = Worker(settings, concurrency=2, reconcile=False).start()
    try:
        started = time.monotonic()
        seen: set[float] = set()

        def ready() -> bool:
            job = _job(settings, asset_id)
            if job.stage == "transcode":
                seen.add(job.progress)
            return asset_row(settings, asset_id).media_state == "ready"

        _wait(ready, 120, "ready")
        assert time.monotonic() - started > 3  # longer than the visibility timeout
        # Progress was recorded on the job row while FFmpeg ran (throttled, not per frame).
        assert any(0 < p < 1 for p in seen), seen
    finally:
        worker.stop(timeout=10)
    assert _job(settings, asset_id).attempts == 1
