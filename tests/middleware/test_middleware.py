"""Edge behaviour: client IP behind proxies, rate limits, security headers, CORS, body limits,
errors with request ids."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from openwan.middleware.proxy import forwarded_client
from tests.conftest import ADMIN_PASSWORD, login


@pytest.fixture
def make_client(make_settings, tmp_path):
    """A client for an app built with extra settings (and a migrated SQLite database)."""
    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.db import dispose_engines, unit_of_work

    clients = []

    def make(**env) -> TestClient:
        url = f"sqlite:///{tmp_path / f'm{len(clients)}.db'}"
        settings = make_settings(OPENWAN_DATABASE_URL=url, **env)
        migrate.upgrade(url)
        with unit_of_work(settings) as session:
            service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    dispose_engines()


@pytest.mark.parametrize(("xff", "hops", "expected"), [
    (None, 1, "10.0.0.9"),
    ("203.0.113.7", 1, "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # a spoofed entry from the client is ignored
    ("6.6.6.6, 203.0.113.7, 130.176.0.1", 2, "203.0.113.7"),  # CloudFront + ALB
    ("203.0.113.7", 2, "203.0.113.7"),
    ("203.0.113.7", 0, "10.0.0.9"),  # no proxies trusted
])
def test_forwarded_client(xff, hops, expected):
    assert forwarded_client(xff, hops, "10.0.0.9") == expected


def test_rate_limit_per_client_ip_with_retry_after(make_client):
    client = make_client(OPENWAN_RATE_LIMIT="5", OPENWAN_RATE_WINDOW="60",
                         OPENWAN_TRUSTED_PROXY_HOPS="1")
    first = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    for _ in range(5):
        assert client.get("/api/v1/assets", headers=first).status_code == 401
    refused = client.get("/api/v1/assets", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "rate_limited" and "retry" in body["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and body["retry_after"] >= 1
    assert refused.headers["content-type"] == "application/json"
    # Another client is not affected; health probes never are.
    assert client.get("/api/v1/assets", headers={"X-Forwarded-For": "198.51.100.1"}
                      ).status_code == 401
    for _ in range(3):
        assert client.get("/health", headers=first).status_code == 200


def _failed_login_ips(client) -> list[str | None]:
    from sqlalchemy import select

    from openwan.db import unit_of_work
    from openwan.models import AuditEntry

    with unit_of_work(client.app.state.settings) as session:
        return list(session.scalars(select(AuditEntry.ip).where(
            AuditEntry.action == "auth.login", AuditEntry.success.is_(False))).all())


def test_forwarded_headers_are_not_trusted_by_default(make_client):
    """No proxy configured: a forged X-Forwarded-For reaches neither the rate limits nor the
    audit log (each forged address would otherwise be a fresh allowance)."""
    client = make_client(OPENWAN_LOGIN_RATE_LIMIT="3", OPENWAN_LOGIN_RATE_WINDOW="60")
    assert client.app.state.settings.http.trusted_proxy_hops == 0
    wrong = {"username": "admin", "password": "not-the-password"}
    for n in range(3):
        assert client.post("/api/v1/auth/login", json=wrong,
                           headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 401
    assert client.post("/api/v1/auth/login", json=wrong,
                       headers={"X-Forwarded-For": "198.51.100.77"}).status_code == 429
    assert set(_failed_login_ips(client)) == {"testclient"}


def test_forwarded_headers_need_the_origin_secret_when_one_is_set(make_client):
    """Behind CloudFront + ALB (two hops) with the origin secret: only requests carrying it
    (what CloudFront sends) have their forwarded address believed; a direct call to the load
    balancer with a forged header is served as its TCP peer."""
    client = make_client(OPENWAN_LOGIN_RATE_LIMIT="2", OPENWAN_LOGIN_RATE_WINDOW="60",
                         OPENWAN_TRUSTED_PROXY_HOPS="2", OPENWAN_ORIGIN_SECRET="s3cr3t-origin")
    wrong = {"username": "admin", "password": "not-the-password"}

    def attempt(ip: str, origin: str | None) -> int:
        headers = {"X-Forwarded-For": f"{ip}, 130.176.0.1"}
        if origin is not None:
            headers["X-OpenWan-Origin"] = origin
        return client.post("/api/v1/auth/login", json=wrong, headers=headers).status_code

    # Through CloudFront: each client address has its own allowance.
    assert [attempt("203.0.113.1", "s3cr3t-origin") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.2", "s3cr3t-origin") == 401
    # Straight to the ALB (no header, or a wrong or truncated one): forged addresses are
    # ignored, all counted against the peer.
    assert [attempt(f"192.0.2.{n}", o) for n, o in enumerate(
        [None, "wrong", "s3cr3t", "s3cr3t-origin-"])] == [401, 401, 429, 429]
    ips = _failed_login_ips(client)
    assert ips.count("203.0.113.1") == 2 and "203.0.113.2" in ips
    assert not [ip for ip in ips if ip and ip.startswith("192.0.2.")]


def test_the_origin_secret_can_come_from_secrets_manager(aws_env, make_settings):
    import boto3

    from openwan.config_secrets import resolve_secrets

    arn = boto3.client("secretsmanager").create_secret(
        Name="openwan/origin-test", SecretString='{"secret": "from-the-vault"}')["ARN"]
    settings = make_settings(OPENWAN_ORIGIN_SECRET_ARN=arn)
    assert "OPENWAN_ORIGIN_SECRET_ARN" in resolve_secrets(settings)
    assert settings.http.origin_secret.get_secret_value() == "from-the-vault"
    assert "from-the-vault" not in repr(settings)


def test_large_tus_patches_are_not_counted_as_requests(make_client):
    # A long upload is thousands of PATCHes of several MiB: their bytes are their cost.
    client = make_client(OPENWAN_RATE_LIMIT="3", OPENWAN_RATE_WINDOW="60")
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream",
           "Upload-Offset": "0"}
    for _ in range(5):
        assert client.patch("/api/v1/uploads/x", headers=tus,
                            content=b"\0" * (1024 * 1024)).status_code == 401
    # Small PATCHes and other requests count as ever.
    for _ in range(3):
        assert client.patch("/api/v1/uploads/x", headers=tus, content=b"\0").status_code == 401
    assert client.patch("/api/v1/uploads/x", headers=tus, content=b"\0").status_code == 429
    assert client.patch("/api/v1/uploads/x", headers=tus,
                        content=b"\0" * (1024 * 1024)).status_code == 401


def test_login_has_a_stricter_limit(make_client):
    client = make_client(OPENWAN_LOGIN_RATE_LIMIT="3", OPENWAN_LOGIN_RATE_WINDOW="60")
    wrong = {"username": "admin", "password": "not-the-password"}
    for _ in range(3):
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
    refused = client.post("/api/v1/auth/login", json={"username": "admin",
                                                      "password": ADMIN_PASSWORD})
    assert refused.status_code == 429 and "sign-in" in refused.json()["error"]["message"]
    assert client.get("/health").status_code == 200


def test_security_headers_and_hsts_behind_https(make_client):
    client = make_client(OPENWAN_TRUSTED_PROXY_HOPS="1")
    plain = client.get("/health")
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["x-frame-options"] == "DENY"
    assert plain.headers["referrer-policy"] == "same-origin"
    assert "default-src 'none'" in plain.headers["content-security-policy"]
    assert "strict-transport-security" not in plain.headers
    https = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert https.headers["strict-transport-security"].startswith("max-age=31536000")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers[
        "content-security-policy"]
    assert plain.headers["x-request-id"]


def test_cors_allows_configured_origins_and_exposes_tus_headers(make_client):
    client = make_client(OPENWAN_CORS_ORIGINS="https://openwan.example.com")
    preflight = client.options("/api/v1/uploads", headers={
        "Origin": "https://openwan.example.com", "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,upload-offset,tus-resumable"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://openwan.example.com"
    assert "upload-offset" in preflight.headers["access-control-allow-headers"].lower()
    simple = client.get("/health", headers={"Origin": "https://openwan.example.com"})
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "upload-offset" in exposed and "location" in exposed and "tus-resumable" in exposed
    other = client.get("/health", headers={"Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in other.headers
    refused = client.options("/api/v1/uploads", headers={
        "Origin": "https://evil.example.net", "Access-Control-Request-Method": "PATCH"})
    assert refused.status_code == 400


def test_json_bodies_are_small_but_uploads_are_not(make_client):
    client = make_client(OPENWAN_MAX_JSON_BYTES="2048")
    headers = login(client, "admin", ADMIN_PASSWORD)
    big = json.dumps({"username": "admin", "password": "x" * 5000})
    announced = client.post("/api/v1/auth/login", content=big,
                            headers={"content-type": "application/json"})
    assert announced.status_code == 413
    assert announced.json()["error"]["code"] == "payload_too_large"

    def chunks():
        for _ in range(10):
            yield b" " * 1000
        yield big.encode()

    streamed = client.post("/api/v1/auth/login", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    image = _noise_png()
    assert len(image) > 2048
    uploaded = client.post("/api/v1/assets", headers=headers,
                           files={"file": ("big.png", image, "image/png")})
    assert uploaded.status_code == 201, uploaded.text


def _noise_png() -> bytes:
    import io
    import os

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def test_unhandled_error_is_json_with_request_id(make_client):
    client = make_client()

    @client.app.get("/test-crash")
    def crash():
        raise KeyError("oops")

    response = client.get("/test-crash", headers={"X-Request-Id": "trace-me-1"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error",
                                         "message": "internal error; it has been logged"}}
    assert response.headers["x-request-id"] == "trace-me-1"
    odd = client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert odd.headers["x-request-id"] != "bad id with spaces"
