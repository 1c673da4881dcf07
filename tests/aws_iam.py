"""A moto server that enforces IAM: every request after the first three (which create an
administrator) must be signed by an IAM user whose policies allow it.

It runs as a process of its own: moto's enforcement switch and its request counter are
process-wide, and the suite's shared moto server must stay open.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "infra" / "policies"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Keys:
    access_key: str
    secret_key: str

    def env(self, endpoint: str) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": REGION}

    def client(self, service: str, endpoint: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)


class EnforcingMoto:
    """``with EnforcingMoto() as aws:`` – ``aws.admin`` may do anything; ``aws.user(policy)``
    makes a user holding exactly that policy document."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.admin: Keys | None = None

    def __enter__(self) -> EnforcingMoto:
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the IAM-enforcing moto server did not start")
            time.sleep(0.05)
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name=REGION,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        # The three unauthenticated requests.
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = Keys(key["AccessKeyId"], key["SecretAccessKey"])
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self, service: str):
        assert self.admin is not None
        return self.admin.client(service, self.endpoint)

    def user(self, name: str, policy: dict) -> Keys:
        iam = self.client("iam")
        name = f"{name}-{uuid.uuid4().hex[:6]}"
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])


def load_policy(name: str, values: dict[str, str]) -> tuple[dict, Path]:
    """The task-role policy ``name`` (``worker-task-role``…) as the stack synthesizes it
    (``infra/policies``), its ``${Placeholders}`` replaced by ``values``. Every placeholder
    must have a value: one the test does not know about fails it, never passes silently."""
    path = POLICIES / f"{name}.json"
    text = path.read_text()
    unknown = sorted(set(re.findall(r"\$\{([^}]+)\}", text)) - set(values))
    if unknown:
        raise AssertionError(f"{path.name} has placeholders this test cannot fill: {unknown}")
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    document = json.loads(text)
    return document.get("PolicyDocument", document), path
