"""The deployment scripts, run against a stand-in `aws` CLI that plays ECS and CloudFormation.

There is no AWS here; the stand-in answers the few calls the scripts make from a state file
and records every call, so the tests check what the scripts do with the answers: poll until
the task stops however long that takes, refuse to overlap, run the new image's migration.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# Bash, not Python: it runs once per poll, and the poll test makes over a hundred.
FAKE_AWS = r"""#!/usr/bin/env bash
set -eu
dir="$FAKE_AWS_STATE"
printf '%s\n' "$*" >> "$dir/calls"
opt() {
  local want="$1"; shift
  while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done
}
query="$(opt --query "$@")"
case "$1 $2" in
  "cloudformation describe-stacks") key="${query#*\'}"; key="${key%%\'*}"; cat "$dir/output.$key" ;;
  "ecs list-tasks") cat "$dir/running" ;;
  "ecs describe-task-definition") cat "$dir/task_definition.json" ;;
  "ecs register-task-definition")
    opt --cli-input-json "$@" > "$dir/registered.json"
    echo "arn:aws:ecs:us-east-1:123456789012:task-definition/openwan-migrate:8" ;;
  "ecs run-task")
    opt --task-definition "$@" > "$dir/ran"
    echo "arn:aws:ecs:us-east-1:123456789012:task/openwan/abc" ;;
  "ecs describe-tasks")
    case "$query" in
      *lastStatus*)
        polls=$(( $(cat "$dir/polls") + 1 )); echo "$polls" > "$dir/polls"
        limit="$(cat "$dir/running_polls")"
        if [ "$polls" -gt "$limit" ]; then echo STOPPED; else echo RUNNING; fi ;;
      *exitCode*) cat "$dir/exit_code" ;;
      *) echo "Essential container in task exited" ;;
    esac ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake_aws(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS)
    aws.chmod(0o755)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    outputs = {
        "ClusterName": "openwan",
        "MigrateTaskDefinitionArn": (
            "arn:aws:ecs:us-east-1:123456789012:task-definition/openwan-migrate:7"
        ),
        "AppSubnetIds": "subnet-1,subnet-2,subnet-3",
        "BackendSecurityGroupId": "sg-123",
    }
    task_definition = {
        "family": "openwan-migrate",
        "taskDefinitionArn": outputs["MigrateTaskDefinitionArn"],
        "revision": 7,
        "status": "ACTIVE",
        "taskRoleArn": "arn:aws:iam::123456789012:role/openwan-migrate-task-role",
        "executionRoleArn": "arn:aws:iam::123456789012:role/openwan-ecs-task-execution-role",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [
            {
                "name": "migrate",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/openwan-backend:old",
                "command": ["openwan", "migrate"],
                "secrets": [{"name": "OPENWAN_ADMIN_PASSWORD", "valueFrom": "arn:secret"}],
            }
        ],
    }

    def run(*args: str, running=0, running_polls=3, exit_code=0) -> tuple:
        for key, value in outputs.items():
            (state_dir / f"output.{key}").write_text(value + "\n")
        (state_dir / "task_definition.json").write_text(json.dumps(task_definition))
        for name, value in (("running", running), ("polls", 0),
                            ("running_polls", running_polls), ("exit_code", exit_code)):
            (state_dir / name).write_text(f"{value}\n")
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_AWS_STATE": str(state_dir),
            "OPENWAN_MIGRATE_POLL_SECONDS": "0",
        }
        result = subprocess.run(
            ["bash", str(SCRIPTS / "run-migration.sh"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

        def read(name):
            path = state_dir / name
            return path.read_text().strip() if path.exists() else None

        registered = read("registered.json")
        return result, {
            "calls": read("calls").splitlines(),
            "polls": int(read("polls")),
            "ran": read("ran"),
            "registered": json.loads(registered) if registered else None,
            "outputs": outputs,
        }

    return run


def test_migration_waits_as_long_as_it_takes(fake_aws):
    # `aws ecs wait tasks-stopped` gives up after 100 polls (10 minutes); this one outlasts it.
    result, state = fake_aws("OpenWan-seed", running_polls=150)
    assert result.returncode == 0, result.stderr
    assert state["polls"] == 151
    assert not any(call.startswith("ecs wait") for call in state["calls"])
    assert state["ran"] == state["outputs"]["MigrateTaskDefinitionArn"]
    assert "migration exit code: 0" in result.stdout


def test_failed_migration_fails_the_step(fake_aws):
    result, _ = fake_aws("OpenWan-seed", exit_code=1)
    assert result.returncode != 0


def test_no_second_migration_while_one_runs(fake_aws):
    result, state = fake_aws("OpenWan-seed", running=1)
    assert result.returncode != 0
    assert "already running" in result.stderr
    assert state["ran"] is None


def test_new_release_migrates_before_the_services_roll(fake_aws):
    result, state = fake_aws("OpenWan-seed", "3f2c1ab")
    assert result.returncode == 0, result.stderr
    registered = state["registered"]
    (container,) = registered["containerDefinitions"]
    assert container["image"].endswith("/openwan-backend:3f2c1ab")
    # Same role, secrets (the first admin's password included) and command.
    assert registered["taskRoleArn"].endswith("role/openwan-migrate-task-role")
    assert container["secrets"] == [{"name": "OPENWAN_ADMIN_PASSWORD", "valueFrom": "arn:secret"}]
    assert "revision" not in registered and "status" not in registered
    assert state["ran"].endswith("openwan-migrate:8")


def test_smoke_test_is_valid_bash_and_uploads_both_ways():
    script = SCRIPTS / "smoke-test.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert '"$base/api/v1/assets"' in text  # multipart POST
    assert "-X PATCH" in text and "Tus-Resumable: 1.0.0" in text  # tus
    assert "X-Amz-Signature" in text  # renditions only through presigned URLs
