"""The foundation's authentication: login issues JWTs; every /api/v1 route requires one."""

import time

import jwt
import pytest

from openwan.access.tokens import issue
from tests.conftest import ADMIN_PASSWORD


def test_login_returns_the_contract_shape(client, admin):
    response = client.post("/api/v1/auth/login",
                           json={"username": "admin", "password": ADMIN_PASSWORD})
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900


@pytest.mark.parametrize("username, password", [
    ("admin", "wrong-password-123"), ("nobody", ADMIN_PASSWORD), ("' OR 1=1 --", "x"),
    ("a" * 5000, "x")])
def test_bad_credentials_are_401(client, admin, username, password):
    response = client.post("/api/v1/auth/login", json={"username": username[:256],
                                                       "password": password})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", ["/api/v1/assets", "/api/v1/assets/1",
                                   "/api/v1/assets/1/original", "/api/v1/auth/me"])
def test_routes_require_a_token(client, admin, route):
    assert client.get(route).status_code == 401


def test_tampered_expired_and_wrong_kind_tokens_are_401(client, settings, admin):
    from openwan.access import sessions
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        good = sessions.start(session, settings, admin, ip=None, user_agent=None).access_token
    sessionless, _ = issue(settings, admin.id)  # a valid signature, but no live session
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"}).json()[
        "username"] == "admin"
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    forged = jwt.encode({"sub": str(admin.id), "typ": "access", "jti": "x", "iss": "openwan",
                         "exp": int(time.time()) + 60}, "not-the-secret", algorithm="HS256")
    from datetime import timedelta

    expired, _ = issue(settings, admin.id, ttl=timedelta(seconds=-1))
    refresh, _ = issue(settings, admin.id, "refresh")
    none_alg = jwt.encode({"sub": str(admin.id), "typ": "access"}, None, algorithm="none")
    for token in (tampered, forged, expired, refresh, none_alg, "garbage", sessionless):
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_refresh_issues_new_tokens(client, admin):
    tokens = client.post("/api/v1/auth/login",
                         json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": tokens["access_token"]}).status_code == 401


def test_openapi_describes_every_route(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/auth/login", "/api/v1/assets", "/api/v1/assets/{asset_id}",
                 "/api/v1/assets/{asset_id}/original", "/api/v1/uploads",
                 "/api/v1/uploads/{upload_id}"):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200
