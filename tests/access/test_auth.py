"""Sign-in, tokens, sessions and throttling over HTTP (SQLite)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
from sqlalchemy import select

from openwan.access import tokens
from openwan.db import unit_of_work
from openwan.models import ApiToken, AuditEntry, RefreshToken, User
from tests.conftest import ADMIN_PASSWORD, login

ME = "/api/v1/me"


def _login(client, username="admin", password=ADMIN_PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit(settings, action: str) -> list[AuditEntry]:
    with unit_of_work(settings) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)).all())


def test_login_gives_a_working_pair_and_is_audited(client, admin, settings):
    response = _login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = client.get(ME, headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "admin" and me.json()["administrator"] is True
    assert "admin.users" in me.json()["permissions"]
    assert _login(client, password="wrong password!").status_code == 401
    assert _login(client, username="nobody", password="x").status_code == 401
    entries = _audit(settings, "auth.login")
    assert [(e.actor, e.success) for e in entries] == [
        ("admin", True), ("admin", False), ("nobody", False)]
    assert entries[0].ip == "testclient" and entries[0].actor_id == admin.id
    with unit_of_work(settings) as session:
        user = session.get(User, admin.id)
        assert user.login_count == 1 and user.last_login_ip == "testclient"


def test_tampered_expired_and_foreign_tokens_are_refused(client, admin, settings):
    good = _login(client).json()["access_token"]
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    expired, _ = tokens.issue(settings, admin.id, "access", family="x",
                              ttl=timedelta(seconds=-10))
    other_key = jwt.encode({"sub": str(admin.id), "typ": "access", "jti": "1", "iss": "openwan",
                            "exp": 4102444800}, "another-secret-" + "y" * 40, algorithm="HS256",
                           headers={"kid": tokens._kid(settings.jwt_secret)})
    no_alg = jwt.encode({"sub": str(admin.id), "typ": "access"}, None, algorithm="none")
    refresh_as_access = _login(client).json()["refresh_token"]
    for token in (f"{header}.{forged}.{signature}", expired, other_key, no_alg,
                  refresh_as_access, "garbage", "a.b.c", "owp_not-a-token"):
        response = client.get(ME, headers=_bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "unauthorized"
    assert client.get(ME).status_code == 401
    assert client.get(ME, headers=_bearer(good)).status_code == 200


def test_rotated_jwt_secret_still_accepts_tokens_of_the_previous_key(make_settings, admin,
                                                                      settings):
    from fastapi.testclient import TestClient

    from openwan.app import create_app

    with TestClient(create_app(settings)) as client:
        old = _login(client).json()["access_token"]
    rotated = make_settings(OPENWAN_DATABASE_URL=settings.database_url,
                            JWT_SECRET="the-new-secret-" + "z" * 40,
                            OPENWAN_JWT_PREVIOUS_SECRETS=settings.jwt_secret)
    with TestClient(create_app(rotated)) as client:
        assert client.get(ME, headers=_bearer(old)).status_code == 200
        new = _login(client).json()["access_token"]
        assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    unrotated = make_settings(OPENWAN_DATABASE_URL=settings.database_url,
                              JWT_SECRET="the-new-secret-" + "z" * 40)
    with TestClient(create_app(unrotated)) as client:
        assert client.get(ME, headers=_bearer(old)).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client, admin, settings):
    first = _login(client).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    third = client.post("/api/v1/auth/refresh",
                        json={"refresh_token": second["refresh_token"]}).json()
    assert client.get(ME, headers=_bearer(third["access_token"])).status_code == 200
    # The first refresh token comes back: a thief or a replay. The whole family ends.
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    for token in (first, second, third):
        assert client.get(ME, headers=_bearer(token["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": third["refresh_token"]}).status_code == 401
    assert _audit(settings, "auth.refresh_reuse")[0].success is False
    # Other sessions of the same user are untouched.
    other = _login(client).json()
    assert client.get(ME, headers=_bearer(other["access_token"])).status_code == 200
    # Refresh tokens are stored hashed only.
    with unit_of_work(settings) as session:
        stored = session.scalars(select(RefreshToken.token_hash)).all()
    assert other["refresh_token"] not in stored and all(len(h) == 64 for h in stored)


def test_refresh_rejects_access_tokens_and_garbage(client, admin):
    pair = _login(client).json()
    for token in (pair["access_token"], "x", "a.b.c"):
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401
    assert client.post("/api/v1/auth/refresh", json={}).status_code == 422


def test_logout_ends_the_session(client, admin):
    pair = _login(client).json()
    headers = _bearer(pair["access_token"])
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get(ME, headers=headers).status_code == 401
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_password_change_revokes_other_sessions(client, admin, settings):
    a = _login(client).json()
    b = _login(client).json()
    new = "Another-Long-Passphrase-7"
    wrong = client.post(f"{ME}/password", headers=_bearer(a["access_token"]),
                        json={"current_password": "not it at all", "new_password": new})
    assert wrong.status_code == 403
    weak = client.post(f"{ME}/password", headers=_bearer(a["access_token"]),
                       json={"current_password": ADMIN_PASSWORD, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "password"
    changed = client.post(f"{ME}/password", headers=_bearer(a["access_token"]),
                          json={"current_password": ADMIN_PASSWORD, "new_password": new})
    assert changed.status_code == 200
    for old in (a, b):
        assert client.get(ME, headers=_bearer(old["access_token"])).status_code == 401
        assert client.post("/api/v1/auth/refresh",
                           json={"refresh_token": old["refresh_token"]}).status_code == 401
    assert client.get(ME, headers=_bearer(changed.json()["access_token"])).status_code == 200
    assert _login(client).status_code == 401
    assert _login(client, password=new).status_code == 200
    results = [e.success for e in _audit(settings, "auth.password_change")]
    assert results == [False, True]


def test_profile_is_editable_by_its_owner_but_not_rights(client, auth):
    response = client.patch(ME, headers=auth, json={"display_name": "系统管理员",
                                                    "email": "ops@example.org",
                                                    "phone": "+86 10 1234", "department": "技术部"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "系统管理员"
    assert response.json()["department"] == "技术部"
    assert client.patch(ME, headers=auth, json={"level": 5}).status_code == 422
    assert client.patch(ME, headers=auth, json={"email": "not an email"}).status_code == 422


def test_locked_account_cannot_sign_in_and_loses_its_sessions(client, auth, settings):
    created = client.post("/api/v1/users", headers=auth, json={
        "username": "alice", "password": "Wonderland-Pass-2024", "display_name": "Alice"})
    assert created.status_code == 201, created.text
    alice = login(client, "alice", "Wonderland-Pass-2024")
    assert client.get(ME, headers=alice).status_code == 200
    uid = created.json()["id"]
    assert client.patch(f"/api/v1/users/{uid}", headers=auth,
                        json={"locked": True}).status_code == 200
    assert client.get(ME, headers=alice).status_code == 401
    refused = _login(client, "alice", "Wonderland-Pass-2024")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_locked"
    # A wrong password on a locked account says nothing about the lock.
    assert _login(client, "alice", "wrong-password-here").status_code == 401
    assert client.patch(f"/api/v1/users/{uid}", headers=auth,
                        json={"locked": False}).status_code == 200
    assert _login(client, "alice", "Wonderland-Pass-2024").status_code == 200


def test_throttling_per_account_and_address(client, admin, settings):
    """Five wrong passwords make this address wait before trying this account again (it is
    the same address for every request here); the account itself is not locked."""
    for _ in range(5):
        assert _login(client, password="wrong password!").status_code == 401
    waiting = _login(client)  # the right password, but from the address that guessed
    assert waiting.status_code == 429
    assert waiting.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(waiting.headers["retry-after"]) <= 30
    assert waiting.json()["error"]["retry_after"] == int(waiting.headers["retry-after"])
    # Unknown accounts are throttled alike: no way to tell which exist.
    for _ in range(5):
        assert _login(client, username="bob", password="wrong password!").status_code == 401
    assert _login(client, username="bob", password="whatever").status_code == 429
    throttled = _audit(settings, "auth.login")
    assert sum(1 for e in throttled if e.detail.get("reason") == "throttled") == 2
    with unit_of_work(settings) as session:
        assert not session.get(User, admin.id).locked


def test_throttling_per_address_covers_many_accounts(make_settings, settings, admin):
    from fastapi.testclient import TestClient

    from openwan.app import create_app

    strict = make_settings(OPENWAN_DATABASE_URL=settings.database_url,
                           OPENWAN_LOGIN_IP_MAX_FAILURES="4")
    with TestClient(create_app(strict)) as client:
        for n in range(4):
            assert _login(client, username=f"guess{n}", password="nope").status_code == 401
        assert _login(client).status_code == 429  # this address must wait, for any account


def test_sql_like_and_very_long_usernames(client, auth, settings):
    for name in ("admin' OR '1'='1", "admin'--", "x" * 65, "' ; DROP TABLE users;"):
        response = client.post("/api/v1/users", headers=auth, json={
            "username": name, "password": "Some-Long-Password-1"})
        assert response.status_code == 422, name
        assert response.json()["error"]["field"] == "username"
    nul = client.post("/api/v1/users", headers=auth, json={
        "username": "a\x00b", "password": "Some-Long-Password-1"})
    assert nul.status_code == 422 and "NUL" in nul.json()["error"]["message"]
    for name in ("admin' OR '1'='1", "admin'--", "' OR 1=1 --", "x" * 256, "管理员" * 30):
        response = _login(client, username=name, password="anything at all")
        assert response.status_code == 401, name
    assert _login(client, username="x" * 257, password="p").status_code == 422
    ok = client.post("/api/v1/users", headers=auth, json={
        "username": "o_brien-编目.2", "password": "Some-Long-Password-1"})
    assert ok.status_code == 201
    assert _login(client, "o_brien-编目.2", "Some-Long-Password-1").status_code == 200
    with unit_of_work(settings) as session:
        assert session.scalar(select(User).where(User.username == "admin")) is not None


def test_personal_api_tokens(client, auth, settings):
    created = client.post(f"{ME}/tokens", headers=auth,
                          json={"name": "nightly export", "expires_days": 30})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("owp_") and created.json()["prefix"] == secret[:12]
    script = _bearer(secret)
    assert client.get(ME, headers=script).json()["username"] == "admin"
    assert client.get("/api/v1/users", headers=script).status_code == 200
    listed = client.get(f"{ME}/tokens", headers=auth).json()
    assert [t["name"] for t in listed] == ["nightly export"]
    assert "token" not in listed[0]  # shown once only
    # A token cannot mint more tokens.
    assert client.post(f"{ME}/tokens", headers=script, json={"name": "x"}).status_code == 403
    with unit_of_work(settings) as session:
        stored = session.scalar(select(ApiToken))
        assert stored.token_hash != secret and secret not in stored.token_hash
        assert stored.last_used_at is not None
    token_id = created.json()["id"]
    assert client.delete(f"{ME}/tokens/{token_id}", headers=auth).status_code == 204
    assert client.get(ME, headers=script).status_code == 401
    assert client.delete(f"{ME}/tokens/{token_id + 99}", headers=auth).status_code == 404
    actions = [e.action for e in _audit(settings, "token.create") + _audit(settings,
                                                                             "token.revoke")]
    assert actions == ["token.create", "token.revoke"]


def test_api_token_of_a_locked_account_stops_working(client, auth):
    uid = client.post("/api/v1/users", headers=auth, json={
        "username": "bob", "password": "Builder-Pass-2024!"}).json()["id"]
    bob = login(client, "bob", "Builder-Pass-2024!")
    secret = client.post(f"{ME}/tokens", headers=bob, json={"name": "s"}).json()["token"]
    assert client.get(ME, headers=_bearer(secret)).status_code == 200
    client.patch(f"/api/v1/users/{uid}", headers=auth, json={"enabled": False})
    assert client.get(ME, headers=_bearer(secret)).status_code == 401


def test_ended_sessions_are_purged(client, admin, settings):
    from openwan.access import sessions
    from openwan.models import AuthSession, utcnow

    ended = _login(client).json()
    live = _login(client).json()
    client.post("/api/v1/auth/logout", headers=_bearer(ended["access_token"]))
    with unit_of_work(settings) as session:
        for row in session.scalars(select(AuthSession).where(AuthSession.revoked_at.is_not(None))):
            row.revoked_at = utcnow() - timedelta(days=2)
    with unit_of_work(settings) as session:
        assert sessions.purge_expired(session, settings) == 1
    with unit_of_work(settings) as session:
        assert session.scalar(select(AuthSession.id).where(
            AuthSession.revoked_at.is_not(None))) is None
    assert client.get(ME, headers=_bearer(live["access_token"])).status_code == 200
