"""Tracing: X-Ray ids and headers, the seed's sampling rules, errors always kept, and off
costs nothing. Spans go to an in-memory exporter."""

from __future__ import annotations

import random
import time

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openwan.observability import tracing
from openwan.observability.tracing import Rule
from tests.conftest import ADMIN_PASSWORD, login
from tests.observability.helpers import captured_logs

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
ROOT_INT = int("5759e988bd862e3fe1be46a994272793", 16)


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    yield spans
    tracing.shutdown_tracing()


def _never() -> list[Rule]:
    return [Rule("nothing by rate", "*", "*", 0.0, 0)]


def test_off_installs_nothing(settings):
    from openwan.app import create_app

    assert tracing.setup_tracing(settings, service="backend") is False
    assert not tracing.enabled()
    app = create_app(settings)
    assert not any("OpenTelemetry" in str(m.cls) for m in app.user_middleware)
    with tracing.span("ffmpeg.transcode") as current:
        assert current is None
    assert tracing.current_xray_trace_id() is None


def test_sampled_request_traces_http_and_sql_with_xray_ids(settings, admin, exporter):
    from openwan.app import create_app

    tracing.setup_tracing(settings, service="backend", exporter=exporter, simple=True)
    app = create_app(settings)
    with captured_logs(settings) as logs, TestClient(app) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        exporter.clear()
        header = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
        response = client.get("/api/v1/assets", headers={**headers, "X-Amzn-Trace-Id": header})
        assert response.status_code == 200
    spans = exporter.get_finished_spans()
    assert spans and {s.context.trace_id for s in spans} == {ROOT_INT}
    server = [s for s in spans if s.kind.name == "SERVER"]
    assert len(server) == 1 and server[0].parent.span_id == int("53995c3f42cd8ad8", 16)
    sql = [s for s in spans if s.attributes.get("db.system") or "SELECT" in s.name]
    assert sql, [s.name for s in spans]
    assert all(s.parent is not None for s in sql)
    access = logs.where(logger="openwan.access", api_endpoint="GET /api/v1/assets")
    assert access[0]["trace_id"] == ROOT


def test_alb_root_without_parent_is_continued(settings, exporter):
    """The ALB sends Root only; the trace keeps the ALB's id (errors are always kept)."""
    from openwan.app import create_app

    tracing.setup_tracing(settings, service="backend", exporter=exporter, simple=True,
                          sampler=tracing.seed_sampler(_never(), _never()[0]))
    app = create_app(settings)

    @app.get("/test-fail")
    def fail():
        raise RuntimeError("boom")

    with TestClient(app) as client:
        assert client.get("/test-fail", headers={"X-Amzn-Trace-Id": f"Root={ROOT}"}
                          ).status_code == 500
    spans = exporter.get_finished_spans()
    assert spans and {s.context.trace_id for s in spans} == {ROOT_INT}
    assert all(s.context.trace_flags.sampled for s in spans)


def test_errors_are_kept_and_the_rest_sampled_out(settings, admin, exporter):
    from openwan.app import create_app

    tracing.setup_tracing(settings, service="backend", exporter=exporter, simple=True,
                          sampler=tracing.seed_sampler(_never(), _never()[0]))
    app = create_app(settings)

    @app.get("/test-fail")
    def fail():
        raise RuntimeError("boom")

    with TestClient(app) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        for _ in range(5):
            assert client.get("/api/v1/assets", headers=headers).status_code == 200
        assert exporter.get_finished_spans() == ()
        assert client.get("/test-fail").status_code == 500
    spans = exporter.get_finished_spans()
    assert spans
    assert len({s.context.trace_id for s in spans}) == 1
    server = [s for s in spans if s.kind.name == "SERVER"][0]
    assert server.status.status_code.name == "ERROR"
    first = f"{server.context.trace_id:032x}"[:8]
    assert abs(int(first, 16) - time.time()) < 600  # X-Ray ids start with the epoch second


def test_seed_sampling_rates():
    sampler = tracing.seed_sampler()
    for rule in [*sampler.rules, sampler.default]:
        rule.reservoir.per_second = 0  # measure the rates alone

    def rate(attributes, n=20000):
        rng = random.Random(7)
        hits = sum(sampler.should_sample(None, rng.getrandbits(128), "x", attributes=attributes)
                   .decision.is_sampled() for _ in range(n))
        return hits / n

    assert rate({"http.method": "GET", "http.target": "/health"}) == pytest.approx(0.01, abs=0.004)
    assert rate({"http.method": "GET", "http.target": "/api/v1/assets?page=2"}) == pytest.approx(
        0.10, abs=0.01)
    assert rate({}) == pytest.approx(0.05, abs=0.008)  # jobs: the default rule
    reservoir = tracing.seed_sampler().rules[1].reservoir
    assert reservoir.take() and not reservoir.take()  # one per second regardless of rate


def test_aws_calls_and_custom_spans_are_traced(make_settings, aws_env, exporter):
    import boto3

    settings = make_settings()
    tracing.setup_tracing(settings, service="worker", exporter=exporter, simple=True,
                          sampler=tracing.seed_sampler([], Rule("all", "*", "*", 1.0, 0)))
    with tracing.span("ffmpeg.transcode", operation="hls"):
        boto3.client("s3").list_buckets()
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert "ffmpeg.transcode" in names
    s3 = [s for s in spans if s.attributes.get("rpc.service") == "S3"]
    assert s3 and s3[0].parent.span_id == spans[-1].context.span_id
