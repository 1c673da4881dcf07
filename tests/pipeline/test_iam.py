"""The app under the task-role policies the stack synthesizes, on a moto server that
enforces IAM: every AWS call the backend and the worker make must be allowed by them.

moto checks Secrets Manager and KMS actions against "*" and SQS GetQueueUrl too, and cannot
check presigned URLs: the worker is given the DLQ URL (as the stack does) and reads
originals by download here (``OPENWAN_MEDIA_READ_BY_URL=0``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.aws_iam import EnforcingMoto, load_policy
from tests.conftest import ADMIN_PASSWORD, login
from tests.media import make_video
from tests.pipeline.conftest import asset_row
from tests.pipeline.test_faults import REPO, _job, _slow_source, _wait

pytestmark = pytest.mark.slow

# The seed's task role: no sqs:ChangeMessageVisibility, no sqs:GetQueueUrl.
SEED_QUEUE_ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                      "sqs:GetQueueAttributes"]


@pytest.fixture(scope="module")
def aws():
    with EnforcingMoto() as aws:
        yield aws


@pytest.fixture
def deployment(aws, configure, monkeypatch):
    """A bucket and queues as the stack makes them, a backend and a worker identity holding
    the synthesized policies; the test process acts as the backend."""
    suffix = str(time.time_ns() % 10**9)
    s3, sqs = aws.client("s3"), aws.client("sqs")
    bucket = f"openwan-media-{suffix}"
    s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName=f"openwan-transcoding-{suffix}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"openwan-transcoding-{suffix}", Attributes={
        "VisibilityTimeout": "3600",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})[
        "QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    values = {"QueueArn": queue_arn, "DeadLetterQueueArn": dlq_arn,
              "MediaBucketArn": f"arn:aws:s3:::{bucket}",
              "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/media",
              "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
              "AWS::Partition": "aws",
              **{name: f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
                 for name in ("DbSecretArn", "JwtSecretArn", "RedisAuthTokenSecretArn")}}
    worker_policy, _ = load_policy("worker-task-role", values)
    backend_policy, _ = load_policy("backend-task-role", values)
    backend = aws.user("backend", backend_policy)
    for key, value in backend.env(aws.endpoint).items():
        monkeypatch.setenv(key, value)
    # boto3's default session keeps the credentials it first found: a fresh one for these.
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    app_env = {"OPENWAN_STORAGE_URL": f"s3://{bucket}", "SQS_QUEUE_URL": queue,
               "OPENWAN_DLQ_URL": dlq, "OPENWAN_MEDIA_READ_BY_URL": "0",
               "OPENWAN_QUEUE_WAIT": "1"}

    class Deployment:
        pass

    d = Deployment()
    d.aws, d.bucket, d.queue, d.dlq, d.values = aws, bucket, queue, dlq, values
    d.worker_policy, d.app_env = worker_policy, app_env

    def worker_env(policy: dict, **extra: str) -> tuple:
        settings, env, admin = configure(**app_env, **extra)
        keys = aws.user("worker", policy)
        return settings, {**env, **keys.env(aws.endpoint)}, admin

    d.worker_env = worker_env
    return d


class _Worker:
    """``openwan worker`` with its log (JSON lines on stdout) kept in a file."""

    def __init__(self, env: dict, log) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openwan", "worker", "--metrics-port", "0"],
            env={**os.environ, **env, "PYTHONPATH": str(REPO)},
            stdout=open(log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115

    def stop(self, sig=signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)
        finally:
            self.proc.stdout and self.proc.stdout.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _upload(settings, path) -> int:
    from fastapi.testclient import TestClient

    from openwan.app import create_app

    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        with open(path, "rb") as f:
            response = client.post("/api/v1/assets", headers=headers,
                                   files={"file": (path.name, f, "video/mpeg")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _deny_previews(aws, bucket: str) -> None:
    """An explicit deny of preview writes to the workers."""
    iam = aws.client("iam")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/preview/*"}]})
    for user in iam.list_users()["Users"]:
        if user["UserName"].startswith("worker"):
            iam.put_user_policy(UserName=user["UserName"], PolicyName="deny-previews",
                                PolicyDocument=deny)


def _allow_previews(aws) -> None:
    iam = aws.client("iam")
    for user in iam.list_users()["Users"]:
        if user["UserName"].startswith("worker"):
            names = iam.list_user_policies(UserName=user["UserName"])["PolicyNames"]
            if "deny-previews" in names:
                iam.delete_user_policy(UserName=user["UserName"], PolicyName="deny-previews")


def test_upload_retry_heartbeat_hand_back_and_dlq_under_the_task_role(deployment, tmp_path):
    d = deployment
    settings, env, _ = d.worker_env(d.worker_policy, OPENWAN_QUEUE_VISIBILITY="2",
                                    OPENWAN_JOB_RETRY_SECONDS="2", FFMPEG_THREADS="1",
                                    OPENWAN_WORKER_CONCURRENCY="2",
                                    OPENWAN_WORKER_SHUTDOWN_SECONDS="1")
    asset_id = _upload(settings, _slow_source(tmp_path, seconds=8))
    _deny_previews(d.aws, d.bucket)  # the first attempt cannot store its preview
    worker = _Worker(env, tmp_path / "worker-1.log")
    try:
        _wait(lambda: (asset_row(settings, asset_id).media_error or "").startswith(
            "attempt 1 failed"), 120, "the first attempt to fail")
        _allow_previews(d.aws)
        _wait(lambda: asset_row(settings, asset_id).media_state == "ready", 120, "ready")
        assert worker.proc.poll() is None
    finally:
        worker.stop()
    log = worker.output()
    job = _job(settings, asset_id)
    # Two attempts: the failed one and the retry. The heartbeat kept each attempt's message
    # (visibility 2 s, jobs of several seconds, an idle second consumer): no third receive.
    assert (job.state, job.attempts) == ("done", 2), log[-3000:]
    # Nothing but the planted deny was refused.
    denied = [line for line in log.splitlines()
              if "AccessDenied" in line and "PutObject" not in line]
    assert not denied, denied[:5]

    # Hand-back on SIGTERM: the job is queued again and its message visible at once.
    second = _upload(settings, _slow_source(tmp_path, seconds=12))
    worker = _Worker(env, tmp_path / "worker-2.log")
    _wait(lambda: (j := _job(settings, second)) and j.stage == "transcode", 90, "transcode")
    assert worker.stop() == 0, worker.output()[-3000:]
    job = _job(settings, second)
    assert (job.state, job.stage) == ("queued", "handed back")
    sqs = d.aws.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=d.queue, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"

    # A message no job answers to goes to the dead-letter queue; `jobs dlq` shows it.
    sqs.send_message(QueueUrl=d.queue, MessageBody=json.dumps({"name": "nope", "job_id": 1}))
    worker = _Worker(env, tmp_path / "worker-3.log")
    try:
        _wait(lambda: int(sqs.get_queue_attributes(QueueUrl=d.dlq, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]) >= 1,
            60, "the dead letter")
        _wait(lambda: asset_row(settings, second).media_state == "ready", 120, "ready")
    finally:
        worker.stop()
    cli = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "openwan", "jobs", "dlq"], env=cli,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '"name": "nope"' in out.stdout and "1 dead letter" in out.stdout


def test_access_denied_while_settling_never_stops_the_consumer(deployment, tmp_path):
    """The seed's role: its AccessDenied errors (GetQueueUrl, ChangeMessageVisibility) while
    a failed job is settled once killed the only consumer thread, leaving a live process
    that consumed nothing. Now they are logged, and the job still ends ready."""
    d = deployment
    seed = json.loads(json.dumps(d.worker_policy))
    for statement in seed["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) \
            else [statement["Action"]]
        if any(a.startswith("sqs:") for a in actions):
            statement["Action"] = SEED_QUEUE_ACTIONS
    settings, env, admin = d.worker_env(seed, OPENWAN_QUEUE_VISIBILITY="3",
                                        OPENWAN_JOB_RETRY_SECONDS="1",
                                        OPENWAN_WORKER_CONCURRENCY="1")
    env.pop("OPENWAN_DLQ_URL")  # the seed sets none: the worker looks it up
    first = _upload(settings, make_video(tmp_path / "a.mp4", seconds=1))
    _deny_previews(d.aws, d.bucket)
    worker = _Worker(env, tmp_path / "worker.log")
    try:
        _wait(lambda: (asset_row(settings, first).media_error or "").startswith(
            "attempt 1 failed"), 60, "the first attempt to fail")
        _allow_previews(d.aws)
        # The consumer lives on: the retry (back after the visibility timeout, as the delay
        # could not be set) and a new upload are both processed.
        second = _upload(settings, make_video(tmp_path / "b.mp4", seconds=1, size="160x120"))
        _wait(lambda: asset_row(settings, first).media_state == "ready"
              and asset_row(settings, second).media_state == "ready", 90, "both ready")
        assert worker.proc.poll() is None
    finally:
        worker.stop()
        print(worker.output()[-5000:])  # shown when the test fails
    log = worker.output()
    assert "sqs:GetQueueUrl" in log and "sqs:ChangeMessageVisibility" in log
