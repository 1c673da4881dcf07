"""JWT access and refresh tokens (HS256 with a key id so JWT_SECRET can rotate)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from openwan.config import Settings

ISSUER = "openwan"


def _kid(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _keys(settings: Settings) -> dict[str, str]:
    keys = {_kid(settings.jwt_secret): settings.jwt_secret}
    if settings.auth.jwt_previous:
        for secret in settings.auth.jwt_previous.get_secret_value().split(","):
            if secret.strip():
                keys[_kid(secret.strip())] = secret.strip()
    return keys


@dataclass(frozen=True)
class Claims:
    user_id: int
    kind: str  # "access" | "refresh"
    jti: str
    family: str | None
    expires_at: datetime


def issue(settings: Settings, user_id: int, kind: str = "access", *, family: str | None = None,
          ttl: timedelta | None = None) -> tuple[str, Claims]:
    now = datetime.now(UTC)
    if ttl is None:
        ttl = (timedelta(minutes=settings.auth.access_minutes) if kind == "access"
               else timedelta(days=settings.auth.refresh_days))
    claims = Claims(user_id=user_id, kind=kind, jti=uuid.uuid4().hex, family=family,
                    expires_at=now + ttl)
    payload = {"sub": str(user_id), "typ": kind, "jti": claims.jti, "iss": ISSUER,
               "iat": int(now.timestamp()), "exp": int(claims.expires_at.timestamp())}
    if family:
        payload["fam"] = family
    secret = settings.jwt_secret
    token = jwt.encode(payload, secret, algorithm="HS256", headers={"kid": _kid(secret)})
    return token, claims


class InvalidToken(Exception):
    pass


def decode(settings: Settings, token: str, kind: str = "access") -> Claims:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        secret = _keys(settings).get(kid or "")
        if secret is None:
            raise InvalidToken("unknown signing key")
        payload = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                             options={"require": ["exp", "sub", "typ", "jti"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if payload.get("typ") != kind:
        raise InvalidToken(f"not an {kind} token")
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("bad subject") from exc
    return Claims(user_id=user_id, kind=kind, jti=payload["jti"], family=payload.get("fam"),
                  expires_at=datetime.fromtimestamp(payload["exp"], UTC))
