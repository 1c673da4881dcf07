"""A production-shaped OpenWan on one machine: two `openwan serve` behind HAProxy (round
robin), two `openwan worker`, a fresh MariaDB database, Redis, and a moto server enforcing
IAM with the task-role policies the stack synthesizes (S3, SQS with its DLQ).

Each process has a data dir of its own, as ECS tasks share no disk. ``scripts/rehearsal``
starts it and runs the rehearsal test against it.

The JWT secret comes from Secrets Manager (``JWT_SECRET_ARN``), as on AWS. Two limits of
moto's enforcement: it cannot check presigned URLs, so the workers download originals
(``OPENWAN_MEDIA_READ_BY_URL=0``) here; and it checks Secrets Manager actions against the
resource "*", so the policies' secret ARNs are widened to "*" (the actions stay as given).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.aws_iam import ACCOUNT, REGION, EnforcingMoto, load_policy

REPO = Path(__file__).resolve().parents[2]
MARIADB_ADMIN = os.environ.get("OPENWAN_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
# The local Redis Cluster of tests/cache/cluster.py (ElastiCache's shape) where the suite has
# it, else this plain Redis database; OPENWAN_REHEARSAL_REDIS=plain forces the latter.
REDIS_URL = "redis://127.0.0.1:6379/14"
ADMIN_PASSWORD = "Correct-Horse-Battery-9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None,
              what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what or port} did not open port {port}")
        time.sleep(0.05)


HAPROXY = """global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend openwan
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend servers
backend servers
    balance roundrobin
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.database = f"openwan_r_{uuid.uuid4().hex[:10]}"
        self.database_url = MARIADB_ADMIN.rsplit("/", 1)[0] + f"/{self.database}?charset=utf8mb4"
        self.backend_ports = [free_port(), free_port()]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.aws = EnforcingMoto()

    # -- set-up ---------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        admin = create_engine(MARIADB_ADMIN)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_unicode_ci"))
        admin.dispose()
        self.redis_env = self._redis()
        self.aws.__enter__()
        s3, sqs = self.aws.client("s3"), self.aws.client("sqs")
        suffix = uuid.uuid4().hex[:8]
        self.bucket = f"openwan-media-{suffix}"
        s3.create_bucket(Bucket=self.bucket)
        self.dlq = sqs.create_queue(QueueName=f"openwan-transcoding-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.queue = sqs.create_queue(QueueName=f"openwan-transcoding-queue-{suffix}",
                                      Attributes={"VisibilityTimeout": "3600", "RedrivePolicy":
                                                  json.dumps({"deadLetterTargetArn": dlq_arn,
                                                              "maxReceiveCount": "3"})})[
            "QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        jwt_arn = self.aws.client("secretsmanager").create_secret(
            Name=f"openwan/jwt/secret-{suffix}",
            SecretString=json.dumps({"secret": "rehearsal-" + uuid.uuid4().hex * 2}))["ARN"]
        values = {"QueueArn": queue_arn, "DeadLetterQueueArn": dlq_arn,
                  "MediaBucketArn": f"arn:aws:s3:::{self.bucket}",
                  "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/media",
                  **dict.fromkeys(("DbSecretArn", "JwtSecretArn", "RedisAuthTokenSecretArn"),
                                  "*")}
        self.keys = {role: self.aws.user(role, load_policy(f"{role}-task-role", values)[0])
                     for role in ("backend", "worker")}
        self.common = {
            "OPENWAN_ENV": "test", "JWT_SECRET_ARN": jwt_arn,
            "OPENWAN_DATABASE_URL": self.database_url, **self.redis_env,
            "OPENWAN_STORAGE_URL": f"s3://{self.bucket}", "SQS_QUEUE_URL": self.queue,
            "OPENWAN_DLQ_URL": self.dlq, "OPENWAN_MEDIA_READ_BY_URL": "0",
            "OPENWAN_TRUSTED_PROXY_HOPS": "1", "OPENWAN_QUEUE_WAIT": "1",
            "OPENWAN_QUEUE_VISIBILITY": "10", "OPENWAN_LOG_FORMAT": "text",
            "PYTHONPATH": str(REPO)}
        t = time.monotonic()
        self.run("migrate", ["migrate"], role="backend")
        self.phases = {"aws+db": t - began, "migrate": time.monotonic() - t}
        self.run("admin", ["user", "create", "admin", "--admin", "--password-stdin"],
                 role="backend", stdin=ADMIN_PASSWORD + "\n")
        for i, port in enumerate(self.backend_ports):
            self.spawn(f"backend-{i}", ["serve", "--host", "127.0.0.1", "--port", str(port),
                                        "--metrics-port", "0"], role="backend",
                       OPENWAN_WEB_PROCESSES="1")
        for i in range(2):
            self.start_worker(i)
        for i, port in enumerate(self.backend_ports):
            wait_port(port, 60, self.procs[f"backend-{i}"], f"backend-{i}")
        servers = "\n".join(f"    server backend-{i} 127.0.0.1:{port}"
                            for i, port in enumerate(self.backend_ports))
        config = self.root / "haproxy.cfg"
        config.write_text(HAPROXY.format(port=self.port, servers=servers))
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        log = open(self.root / "haproxy.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs["haproxy"] = subprocess.Popen([haproxy, "-db", "-f", str(config)],
                                                 stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, 20, self.procs["haproxy"], "haproxy")
        self.startup_seconds = time.monotonic() - began
        self.phases["processes"] = self.startup_seconds - sum(self.phases.values())

    def _redis(self) -> dict[str, str]:
        self.cluster = None
        if os.environ.get("OPENWAN_REHEARSAL_REDIS") != "plain":
            try:
                from tests.cache.cluster import LocalCluster
            except ImportError:
                LocalCluster = None  # noqa: N806
            if LocalCluster is not None:
                self.cluster = LocalCluster().start()
                return {"OPENWAN_REDIS_URL": self.cluster.url, "OPENWAN_REDIS_CLUSTER": "true"}
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        return {"OPENWAN_REDIS_URL": REDIS_URL}

    def env(self, role: str, data_dir: str, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.common, **self.keys[role].env(self.aws.endpoint),
                "OPENWAN_DATA_DIR": str(self.root / data_dir), **extra}

    def run(self, name: str, args: list[str], *, role: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "openwan", *args], input=stdin,
                              env=self.env(role, name), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"openwan {' '.join(args)} failed: {done.stderr[-3000:]}")
        return done.stdout

    def spawn(self, name: str, args: list[str], *, role: str, **extra: str) -> subprocess.Popen:
        self.logs[name] = self.root / f"{name}.log"
        log = open(self.logs[name], "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "openwan", *args],
                                env=self.env(role, name, **extra), stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_worker(self, i: int) -> subprocess.Popen:
        return self.spawn(f"worker-{i}", ["worker", "--metrics-port", "0"], role="worker",
                          OPENWAN_WORKER_CONCURRENCY="1", FFMPEG_THREADS="1")

    def check_worker(self, name: str) -> int:
        """``openwan worker --check`` in the worker's own environment (its ECS health check)."""
        return subprocess.run([sys.executable, "-m", "openwan", "worker", "--check"],
                              env=self.env("worker", name), capture_output=True,
                              timeout=60).returncode

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    # -- tear-down ------------------------------------------------------------------------
    def __exit__(self, *exc) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs.clear()
        if getattr(self, "cluster", None) is not None:
            self.cluster.stop()
        self.aws.__exit__(None, None, None)
        from openwan.db import dispose_engines

        dispose_engines()
        admin = create_engine(MARIADB_ADMIN)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.database}"))
        admin.dispose()

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.logs.get(name) or self.root / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""
