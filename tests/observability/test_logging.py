"""JSON logs: fields, redaction of secrets, and the seed's three Logs Insights queries."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from openwan.observability.logging import REDACTED, Redactor
from tests.conftest import ADMIN_PASSWORD, login
from tests.media import png_bytes
from tests.observability.helpers import captured_logs


def _upload(client, headers, data=None, name="a.png") -> dict:
    response = client.post("/api/v1/assets", headers=headers,
                           files={"file": (name, data or png_bytes(), "image/png")})
    assert response.status_code == 201, response.text
    return response.json()


def test_every_line_is_json_with_request_context(settings, admin):
    from openwan.app import create_app

    with captured_logs(settings) as logs, TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        asset = _upload(client, headers)
        client.get(f"/api/v1/assets/{asset['id']}", headers={**headers,
                                                              "X-Request-Id": "req-42"})
    lines = logs.lines()
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "message", "logger"} <= line.keys()
        datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    detail = logs.where(logger="openwan.access", request_id="req-42")
    assert len(detail) == 1
    line = detail[0]
    assert line["route"] == "/api/v1/assets/{asset_id}"
    assert line["api_endpoint"] == "GET /api/v1/assets/{asset_id}"
    assert line["status"] == 200 and line["user_id"] == admin.id
    assert isinstance(line["response_time"], float) and line["duration"] == line["response_time"]
    assert line["path"] == f"/api/v1/assets/{asset['id']}"


def test_redactor_patterns():
    redact = Redactor()
    redact.register(["a-very-secret-value"])
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
    samples = {
        f"token {jwt}": jwt,
        "Authorization: Bearer abcdefghijklmnop": "abcdefghijklmnop",
        "https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeef00&X-Amz-Credential=AKIA/x":
            "deadbeef00",
        "mysql+pymysql://openwan:hunter2hunter2@db:3306/openwan": "hunter2hunter2",
        '{"username": "bob", "password": "s3cr3t-pass"}': "s3cr3t-pass",
        "{'password': 'reprpass99'}": "reprpass99",
        "configured with a-very-secret-value": "a-very-secret-value",
    }
    for line, secret in samples.items():
        cleaned = redact(line)
        assert secret not in cleaned, cleaned
        assert REDACTED in cleaned
    assert redact("GET /api/v1/assets/5 200") == "GET /api/v1/assets/5 200"


def test_no_secret_reaches_the_logs(make_settings, aws_env, tmp_path):
    """Sign in, upload, fetch a presigned download and even log carelessly: no password,
    JWT, secret or signature in any captured line."""
    import boto3

    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.db import dispose_engines, unit_of_work

    boto3.client("s3").create_bucket(Bucket="redaction-test")
    jwt_secret = "rotating-jwt-secret-" + "k" * 40
    settings = make_settings(OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}",
                             OPENWAN_STORAGE_URL="s3://redaction-test", JWT_SECRET=jwt_secret,
                             OPENWAN_LOG_LEVEL="DEBUG")
    migrate.upgrade(settings.database_url)
    with unit_of_work(settings) as session:
        service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
    careless = logging.getLogger("openwan.careless")
    try:
        with captured_logs(settings) as logs, TestClient(create_app(settings)) as client:
            response = client.post("/api/v1/auth/login",
                                   json={"username": "admin", "password": ADMIN_PASSWORD})
            tokens = response.json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            asset = _upload(client, headers)
            download = client.get(f"/api/v1/assets/{asset['id']}/original", headers=headers,
                                  follow_redirects=False)
            assert download.status_code == 307
            presigned = download.headers["location"]
            assert "X-Amz-Signature=" in presigned
            # What a careless developer might write; redaction must still hold.
            careless.info("login body %s", {"username": "admin", "password": ADMIN_PASSWORD})
            careless.info("redirecting to %s", presigned)
            careless.info("headers %s", headers)
            careless.info("jwt secret is %s", jwt_secret)
            try:
                raise ValueError(f"bad token {tokens['refresh_token']}")
            except ValueError:
                careless.exception("refresh failed")
        output = logs.text
    finally:
        dispose_engines()
    assert "openwan.careless" in output and "redirecting to" in output
    signature = presigned.split("X-Amz-Signature=")[1].split("&")[0]
    for secret in (ADMIN_PASSWORD, tokens["access_token"], tokens["refresh_token"], jwt_secret,
                   signature, "X-Amz-Signature=" + signature[:8]):
        assert secret not in output, f"{secret[:12]}… leaked into the logs"
    assert "X-Amz-Signature" not in output.replace(f"X-Amz-Signature={REDACTED}", "")


def _insights_error_rate(lines: list[str]) -> dict[int, int]:
    """fields @timestamp, @message | filter @message like /ERROR/
    | stats count() as error_count by bin(5m)"""
    import json

    counts: dict[int, int] = defaultdict(int)
    for raw in lines:
        if "ERROR" in raw:
            stamp = datetime.fromisoformat(json.loads(raw)["time"].replace("Z", "+00:00"))
            counts[int(stamp.timestamp()) // 300 * 300] += 1
    return dict(counts)


def _insights_slow_queries(lines: list[dict]) -> list[dict]:
    """fields @timestamp, duration, query | filter operation = "database.query" and
    duration > 1000 | sort duration desc | limit 20"""
    hits = [{"time": x["time"], "duration": x["duration"], "query": x.get("query")}
            for x in lines
            if x.get("operation") == "database.query" and x.get("duration", 0) > 1000]
    return sorted(hits, key=lambda x: x["duration"], reverse=True)[:20]


def _insights_response_times(lines: list[dict]) -> list[tuple[str, float, float]]:
    """fields @timestamp, api_endpoint, response_time | stats avg(response_time) as
    avg_response, max(response_time) as max_response by api_endpoint | sort avg_response desc"""
    groups: dict[str, list[float]] = defaultdict(list)
    for x in lines:
        if "api_endpoint" in x and "response_time" in x:
            groups[x["api_endpoint"]].append(x["response_time"])
    rows = [(k, sum(v) / len(v), max(v)) for k, v in groups.items()]
    return sorted(rows, key=lambda r: r[1], reverse=True)


def test_insights_error_rate_counts_errors(settings, admin):
    from openwan.app import create_app

    app = create_app(settings)

    @app.get("/test-boom")
    def boom():
        raise RuntimeError("kaboom")

    with captured_logs(settings) as logs, TestClient(app) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        for _ in range(3):
            response = client.get("/test-boom", headers=headers)
            assert response.status_code == 500
            assert response.json()["error"]["code"] == "internal_error"
        client.get("/api/v1/assets", headers=headers)
        client.get("/api/v1/assets/999999", headers=headers)  # a 404 is not an error
    raw = logs.text.splitlines()
    bins = _insights_error_rate(raw)
    # Per failing request: the traceback line and the access line, both level ERROR.
    assert sum(bins.values()) == 6, bins
    errors = logs.where(level="ERROR")
    assert len(errors) == 6
    tracebacks = [e for e in errors if "exception" in e]
    assert len(tracebacks) == 3 and "kaboom" in tracebacks[0]["exception"]
    assert all(e["route"] == "/test-boom" and e["request_id"] for e in errors)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_insights_slow_queries(make_settings, database_url):
    from openwan import migrate
    from openwan.db import dispose_engines, get_engine

    settings = make_settings(OPENWAN_DATABASE_URL=database_url, OPENWAN_SLOW_QUERY_MS="100")
    migrate.upgrade(settings.database_url)
    engine = get_engine(settings)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sleep_fn(dbapi_connection, _record):
            dbapi_connection.create_function(
                "pg_sleep", 1, lambda s: time.sleep(s) or 0)
        engine.dispose()
    try:
        with captured_logs(settings) as logs, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.execute(text("SELECT pg_sleep(0.15)"))
            conn.execute(text("SELECT pg_sleep(1.05)"))
        lines = logs.lines()
    finally:
        dispose_engines()
    logged = [x for x in lines if x.get("operation") == "database.query"]
    assert len(logged) == 2, logged  # SELECT 1 is below the threshold
    slow = _insights_slow_queries(lines)
    assert len(slow) == 1
    assert slow[0]["duration"] > 1000 and "pg_sleep(1.05)" in slow[0]["query"]
    assert logged[0]["level"] == "WARNING" and 100 < logged[0]["duration"] < 1000


def test_insights_response_times_by_route_template(settings, admin):
    from openwan.app import create_app

    with captured_logs(settings) as logs, TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        ids = [_upload(client, headers, png_bytes(color=(i, 0, 0)))["id"] for i in range(3)]
        for asset_id in ids:
            client.get(f"/api/v1/assets/{asset_id}", headers=headers)
        client.get("/api/v1/assets", headers=headers)
        client.get("/no/such/path")
    rows = {endpoint: (avg, peak) for endpoint, avg, peak in _insights_response_times(
        logs.lines())}
    assert set(rows) == {"POST /api/v1/auth/login", "POST /api/v1/assets",
                         "GET /api/v1/assets/{asset_id}", "GET /api/v1/assets",
                         "GET <unmatched>"}
    detail = [x["response_time"] for x in logs.where(api_endpoint="GET /api/v1/assets/{asset_id}")]
    assert len(detail) == 3
    assert rows["GET /api/v1/assets/{asset_id}"] == (pytest.approx(sum(detail) / 3), max(detail))
    ordered = [r[0] for r in _insights_response_times(logs.lines())]
    assert ordered[0] == "POST /api/v1/auth/login"  # argon2 makes sign-in the slowest
