"""The worker process: a dead thread ends it, its health check, and what a kill -9 costs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from click.testing import CliRunner

from tests.pipeline.conftest import add_asset, asset_row
from tests.pipeline.test_faults import REPO, _job, _slow_source, _spawn_worker, _wait


def _check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "openwan", "worker", "--check"],
                          env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)


def _run_with_a_broken_consumer(configure, monkeypatch, args):
    """Run ``openwan <args>`` with a fault no handler expects in the consumer's own loop."""
    settings, env, _ = configure(OPENWAN_QUEUE_WAIT="1")
    from openwan.cli import main
    from openwan.queue.embedded import EmbeddedQueue

    def broken(self, **kwargs):
        raise RuntimeError("consumer bug")

    monkeypatch.setattr(EmbeddedQueue, "receive", broken)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Had the process lived on, this would stop it (and the exit code would be 0).
    timer = threading.Timer(60, os.kill, (os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    try:
        return settings, CliRunner().invoke(main, [*args(settings)])
    finally:
        timer.cancel()


def test_a_dead_consumer_thread_ends_the_worker_with_an_error(configure, monkeypatch):
    settings, result = _run_with_a_broken_consumer(
        configure, monkeypatch, lambda settings: ["worker", "--metrics-port", "0"])
    assert result.exit_code == 1, result.output
    assert "consumer bug" in result.output
    assert not (settings.data_dir / "worker.health").exists()


def test_health_check_follows_the_running_worker(configure, tmp_path):
    settings, env, _ = configure(OPENWAN_QUEUE_WAIT="1")
    before = _check(env)
    assert before.returncode == 1 and "no worker health file" in before.stderr
    proc = _spawn_worker(env)
    try:
        _wait(lambda: _check(env).returncode == 0, 60, "the worker to report healthy")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    after = _check(env)
    assert after.returncode == 1 and "is gone" in after.stderr
    # A health file left by a worker that stopped going round is stale, whoever holds its pid.
    (settings.data_dir / "worker.health").write_text(f"{os.getpid()} {time.time() - 600}\n")
    stale = _check(env)
    assert stale.returncode == 1 and "s old" in stale.stderr


def _sqs_queue(visibility: int) -> str:
    import boto3

    sqs = boto3.client("sqs")
    name = f"k9-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})[
        "QueueUrl"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded", "sqs"])
def test_a_job_of_a_killed_worker_is_reclaimed_within_a_minute(configure, tmp_path, backend,
                                                              request):
    """Default settings (no visibility timeout given); on SQS the queue's own attribute is the
    seed's hour, which the worker's receives override."""
    extra = {"FFMPEG_THREADS": "1", "OPENWAN_WORKER_CONCURRENCY": "1"}
    if backend == "sqs":
        request.getfixturevalue("aws_env")
        extra["SQS_QUEUE_URL"] = _sqs_queue(visibility=3600)
    settings, env, admin = configure(**extra)
    asset_id = add_asset(settings, admin, _slow_source(tmp_path, seconds=8))
    first = _spawn_worker(env)
    try:
        _wait(lambda: (j := _job(settings, asset_id)) and j.stage == "transcode", 90,
              "the transcode")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed = time.monotonic()
    second = _spawn_worker(env)  # the restarted worker
    try:
        _wait(lambda: _job(settings, asset_id).attempts == 2, 60, "the job to be reclaimed")
        reclaimed = time.monotonic() - killed
        print(f"\n{backend}: job reclaimed {reclaimed:.1f} s after kill -9")
        assert reclaimed < 60
        _wait(lambda: asset_row(settings, asset_id).media_state == "ready", 120, "ready")
    finally:
        second.terminate()
        second.wait(30)
    assert _job(settings, asset_id).state == "done"


def test_openwan_up_stops_with_an_error_when_its_worker_dies(configure, monkeypatch, tmp_path):
    from tests.conftest import free_port

    _, result = _run_with_a_broken_consumer(configure, monkeypatch, lambda settings: [
        "up", "--port", str(free_port()), "--metrics-port", "0",
        "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1, result.output
    assert "media worker failed" in result.output and "consumer bug" in result.output
