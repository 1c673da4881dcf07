"""Prometheus metrics (parsed with the client's own parser) and CloudWatch EMF lines."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from openwan.observability import metrics
from tests.conftest import ADMIN_PASSWORD, free_port, login
from tests.media import jpeg_bytes, png_bytes
from tests.observability.helpers import captured_logs

REPO = Path(__file__).resolve().parents[2]


def samples(text: str | None = None) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from exposition text."""
    found = {}
    for family in text_string_to_metric_families(text or metrics.metrics_text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(snapshot, name, **labels) -> float:
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def test_http_uploads_and_pool_metrics(settings, admin):
    from openwan.app import create_app

    before = samples()
    route = "/api/v1/assets/{asset_id}"
    with captured_logs(settings) as logs, TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        image = client.post("/api/v1/assets", headers=headers,
                            files={"file": ("a.png", png_bytes(), "image/png")}).json()
        photo = client.post("/api/v1/assets", headers=headers,
                            files={"file": ("b.jpg", jpeg_bytes(), "image/jpeg")}).json()
        for _ in range(4):
            assert client.get(f"/api/v1/assets/{image['id']}", headers=headers).status_code == 200
        assert client.get("/api/v1/assets/424242", headers=headers).status_code == 404
        assert client.get("/definitely/not/here").status_code == 404
    after = samples()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("openwan_http_requests_total", method="GET", route=route, status="200") == 4
    assert delta("openwan_http_requests_total", method="GET", route=route, status="404") == 1
    assert delta("openwan_http_requests_total", method="GET", route="<unmatched>",
                 status="404") == 1
    # Never the raw path as a label (an id in it); fixed routes such as /assets/bulk are fine.
    assert not any(re.search(r"/\d+(/|$)", dict(labels).get("route", ""))
                   for _, labels in after)
    assert delta("openwan_http_request_duration_seconds_count", method="GET", route=route) == 5
    assert value(after, "openwan_http_requests_in_flight") == 0
    assert delta("openwan_uploads_total", media_type="image") == 2
    assert delta("openwan_upload_bytes_total", media_type="image") == image["size"] + photo["size"]
    assert ("openwan_db_pool_size", (("role", "primary"),)) in after

    emf = [line for line in logs.lines() if "_aws" in line]
    assert len(emf) == 2
    for line in emf:
        spec = line["_aws"]["CloudWatchMetrics"][0]
        assert spec["Namespace"] == "OpenWan/Application"
        assert spec["Dimensions"] == [["FileType"]]
        assert {"Name": "FileUploadCount", "Unit": "Count"} in spec["Metrics"]
        assert line["FileType"] == "image" and line["FileUploadCount"] == 1
        assert isinstance(line["_aws"]["Timestamp"], int)


def test_job_ffmpeg_and_queue_hooks():
    before = samples()
    with metrics.job_timer("thumbnail"):
        time.sleep(0.01)
    try:
        with metrics.job_timer("thumbnail"):
            raise RuntimeError("ffmpeg exited 1")
    except RuntimeError:
        pass
    with metrics.ffmpeg_timer("probe"):
        pass
    metrics.register_queue_probe(lambda: {"media": (7, 42.5)})
    try:
        after = samples()
    finally:
        metrics.clear_queue_probes()
    assert value(after, "openwan_jobs_total", job_type="thumbnail", outcome="succeeded") - \
        value(before, "openwan_jobs_total", job_type="thumbnail", outcome="succeeded") == 1
    assert value(after, "openwan_jobs_total", job_type="thumbnail", outcome="failed") - \
        value(before, "openwan_jobs_total", job_type="thumbnail", outcome="failed") == 1
    assert value(after, "openwan_job_duration_seconds_count", job_type="thumbnail") - \
        value(before, "openwan_job_duration_seconds_count", job_type="thumbnail") == 2
    assert value(after, "openwan_jobs_running", job_type="thumbnail") == 0
    assert value(after, "openwan_ffmpeg_duration_seconds_count", operation="probe") >= 1
    assert value(after, "openwan_queue_depth", queue="media") == 7
    assert value(after, "openwan_queue_oldest_message_age_seconds", queue="media") == 42.5


def _wait_http(url: str, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_exposes_metrics_logs_json_and_stops_on_sigterm(tmp_path):
    """``openwan serve`` as ECS runs it: metrics on their own port, JSON on stdout, SIGTERM."""
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENWAN_DATA_DIR": str(tmp_path / "var"),
           "OPENWAN_ENV": "test", "JWT_SECRET": "s" * 48}
    for name in ("OPENWAN_DATABASE_URL", "DB_HOST", "OPENWAN_REDIS_URL", "REDIS_HOST",
                 "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "openwan", "migrate"], env=env, check=True,
                   timeout=60, capture_output=True)
    out = tmp_path / "stdout.log"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "openwan", "serve", "--port", str(port),
             "--metrics-port", str(metrics_port)], env=env, stdout=sink,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            assert _wait_http(f"http://127.0.0.1:{port}/health", deadline).status_code == 200
            assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
            scraped = _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", deadline).text
            found = samples(scraped)
            assert value(found, "openwan_http_requests_total", method="GET", route="/health",
                         status="200") == 1
            process.send_signal(signal.SIGTERM)
            # Uvicorn finishes gracefully, then re-raises the signal it caught.
            assert process.wait(20) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert "openwan.access" in loggers
    assert any(name.startswith("uvicorn") for name in loggers), loggers  # uvicorn's, as JSON
    messages = [line["message"] for line in lines]
    assert "Application shutdown complete." in messages, messages
    access = [line for line in lines if line["logger"] == "openwan.access"]
    assert {a["api_endpoint"] for a in access} == {"GET /health", "GET <unmatched>"}
