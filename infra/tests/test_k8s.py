"""The EKS option: built-in kinds validated offline, KEDA objects checked structurally."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KEDA = "keda.sh/v1alpha1"
# EKS's oldest standard-support release the manifests must still work on, and the newest.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


def _documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def _kind(kind: str, name: str) -> dict:
    (doc,) = [d for _, d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


BUILT_IN = [
    (f"{file}:{doc['kind']}/{doc['metadata']['name']}", doc)
    for file, doc in _documents()
    if doc["apiVersion"] != KEDA and doc["kind"] != "Kustomization"
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), BUILT_IN, ids=[n for n, _ in BUILT_IN])
def test_built_in_kinds_validate(name, doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def test_every_manifest_is_in_the_kustomization():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "migrate-job.yaml"}
    assert listed == on_disk


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_backend_deployment():
    backend = _kind("Deployment", "openwan-backend")
    assert backend["spec"]["replicas"] == 2
    container = _container(backend)
    assert container["command"][:2] == ["openwan", "serve"]
    assert [p["containerPort"] for p in container["ports"]] == [8080, 9090]
    assert container["resources"] == {
        "requests": {"cpu": "2000m", "memory": "4Gi"},
        "limits": {"cpu": "4000m", "memory": "8Gi"},
    }
    live, ready = container["livenessProbe"], container["readinessProbe"]
    assert (live["httpGet"], live["initialDelaySeconds"], live["periodSeconds"]) == (
        {"path": "/alive", "port": 8080},
        30,
        30,
    )
    assert (ready["httpGet"], ready["initialDelaySeconds"], ready["periodSeconds"]) == (
        {"path": "/ready", "port": 8080},
        10,
        10,
    )
    assert backend["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_backend_hpa():
    hpa = _kind("HorizontalPodAutoscaler", "openwan-backend-hpa")
    spec = hpa["spec"]
    assert spec["scaleTargetRef"]["name"] == "openwan-backend"
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 20)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 70},
        "memory": {"type": "Utilization", "averageUtilization": 80},
    }


def test_worker_deployment():
    container = _container(_kind("Deployment", "openwan-worker"))
    assert container["command"] == ["openwan", "worker"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FFMPEG_THREADS"] == "2"
    assert container["resources"]["requests"] == {"cpu": "4000m", "memory": "8Gi"}


def test_worker_scaled_object():
    scaled = _kind("ScaledObject", "openwan-worker")
    assert scaled["apiVersion"] == KEDA
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "openwan-worker",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 10)
    assert spec["cooldownPeriod"] == 300
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    meta = trigger["metadata"]
    assert meta["queueURL"].endswith("/openwan-transcoding-queue")
    assert meta["queueLength"] == "4"
    assert meta["awsRegion"] == "us-east-1"
    auth = _kind("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert auth["spec"]["podIdentity"]["provider"] == "aws"


def test_migration_job():
    job = _kind("Job", "openwan-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["openwan", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secrets_are_referenced_never_inlined():
    for _, doc in _documents():
        assert doc["kind"] != "Secret"
    for name in ("openwan-backend", "openwan-worker"):
        env = {e["name"]: e for e in _container(_kind("Deployment", name))["env"]}
        for secret in ("DB_PASSWORD", "JWT_SECRET", "OPENWAN_REDIS_AUTH_TOKEN"):
            assert env[secret]["valueFrom"]["secretKeyRef"]["name"] == "openwan-secrets"


def test_each_workload_has_its_own_role_and_the_worker_a_liveness_check():
    roles = {
        name: _kind("ServiceAccount", name)["metadata"].get("annotations", {}).get(
            "eks.amazonaws.com/role-arn"
        )
        for name in ("openwan-backend", "openwan-worker", "openwan-migrate")
    }
    assert roles == {
        "openwan-backend": "arn:aws:iam::123456789012:role/openwan-backend-task-role",
        "openwan-worker": "arn:aws:iam::123456789012:role/openwan-worker-task-role",
        "openwan-migrate": None,
    }
    for kind, name in (("Deployment", "openwan-backend"), ("Deployment", "openwan-worker"),
                       ("Job", "openwan-migrate")):
        assert _kind(kind, name)["spec"]["template"]["spec"]["serviceAccountName"] == name
    worker = _container(_kind("Deployment", "openwan-worker"))
    assert worker["livenessProbe"]["exec"]["command"] == ["openwan", "worker", "--check"]
    config = _kind("ConfigMap", "openwan-config")["data"]
    assert config["OPENWAN_REDIS_CLUSTER"] == "true"
    assert config["OPENWAN_DB_TLS"] == "true"
    assert config["OPENWAN_DLQ_URL"].endswith("/openwan-transcoding-dlq")
