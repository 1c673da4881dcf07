"""Sign-in sessions, rotating refresh tokens, and personal API tokens.

A session is one sign-in; its refresh tokens form a family. Each refresh token works once:
using it returns a new pair and marks it used. Presenting a used one again means it leaked,
so the whole family is revoked. Access tokens name their session, so revoking a session
(logout, password change, lock, reuse) ends its access tokens at once too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from openwan.access import audit, tokens
from openwan.config import Settings
from openwan.kit.errors import NotFound, Unauthorized, Unprocessable
from openwan.models import ApiToken, AuthSession, RefreshToken, User, utcnow

API_TOKEN_PREFIX = "owp_"  # noqa: S105 - a marker, not a secret
MAX_API_TOKENS = 50


def digest(secret: str) -> str:
    # Tokens carry 256 bits of randomness; a plain SHA-256 is enough to store them safely.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    # The account must choose a new password before anything else (an imported account).
    password_change_required: bool = False


class RefreshReused(Unauthorized):
    """A rotated refresh token came back: its family has been revoked (commit, then raise)."""


def usable(user: User | None) -> bool:
    return user is not None and user.enabled and not user.locked


def start(session: Session, settings: Settings, user: User, *, ip: str | None,
          user_agent: str | None) -> TokenPair:
    """Open a session for a user who just proved who they are."""
    now = utcnow()
    auth = AuthSession(id=uuid.uuid4().hex, user_id=user.id, created_at=now, last_used_at=now,
                       expires_at=now + timedelta(days=settings.auth.refresh_days), ip=ip,
                       user_agent=(user_agent or "")[:255] or None)
    session.add(auth)
    session.flush()
    return _pair(session, settings, auth)


def _pair(session: Session, settings: Settings, auth: AuthSession) -> TokenPair:
    access, _ = tokens.issue(settings, auth.user_id, "access", family=auth.id)
    refresh, claims = tokens.issue(settings, auth.user_id, "refresh", family=auth.id)
    session.add(RefreshToken(session_id=auth.id, token_hash=digest(refresh),
                             created_at=utcnow(), expires_at=claims.expires_at))
    auth.expires_at = claims.expires_at
    session.flush()
    return TokenPair(access, refresh, settings.auth.access_minutes * 60, auth.id)


def rotate(session: Session, settings: Settings, refresh_token: str, *,
           ip: str | None) -> TokenPair:
    """Exchange a refresh token for a new pair; a second use revokes the family."""
    invalid = Unauthorized("invalid or expired refresh token")
    try:
        claims = tokens.decode(settings, refresh_token, "refresh")
    except tokens.InvalidToken as exc:
        raise invalid from exc
    row = session.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == digest(refresh_token)))
    auth = session.get(AuthSession, row.session_id) if row is not None else None
    if row is None or auth is None or auth.user_id != claims.user_id:
        raise invalid
    if auth.revoked_at is not None:
        raise invalid
    now = utcnow()
    # Claimed with a conditional UPDATE so two concurrent uses cannot both succeed.
    claimed = session.execute(update(RefreshToken)
                              .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False))
    user = session.get(User, auth.user_id)
    if claimed.rowcount != 1:
        revoke(session, auth, "refresh_reuse")
        audit.record(session, "auth.refresh_reuse", actor=user, ip=ip, success=False,
                     target=("session", auth.id), detail={"revoked": "session family"})
        raise RefreshReused("this refresh token was already used; the session has been "
                            "revoked, sign in again", code="refresh_token_reused")
    if not usable(user) or row.expires_at <= now:
        raise invalid
    auth.last_used_at = now
    auth.ip = ip
    return _pair(session, settings, auth)


def revoke(session: Session, auth: AuthSession, reason: str) -> None:
    if auth.revoked_at is None:
        auth.revoked_at = utcnow()
        auth.revoke_reason = reason
        session.flush()


def revoke_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user (password change, lock, disable)."""
    result = session.execute(
        update(AuthSession).where(AuthSession.user_id == user_id,
                                  AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def session_is_live(session: Session, session_id: str | None, user_id: int) -> bool:
    if not session_id:
        return False
    auth = session.get(AuthSession, session_id)
    return (auth is not None and auth.user_id == user_id and auth.revoked_at is None
            and auth.expires_at > utcnow())


def session_state(session: Session, session_id: str) -> bytes:
    """What decides whether a login session is live, as JSON for the shared cache (kind
    ``session``, moved after every commit that changes the row: see ``openwan.cache``)."""
    auth = session.get(AuthSession, session_id)
    if auth is None:
        return b'{"user_id":null}'
    return json.dumps({"user_id": auth.user_id, "revoked": auth.revoked_at is not None,
                       "expires": auth.expires_at.timestamp()}).encode()


def state_is_live(state: dict, user_id: int) -> bool:
    """``session_is_live`` for a :func:`session_state` (expiry checked at each call)."""
    return (state.get("user_id") == user_id and not state["revoked"]
            and state["expires"] > time.time())


def user_for_access_token(session: Session, settings: Settings, token: str) -> User:
    """The caller behind a bearer token (a JWT access token or a personal API token)."""
    invalid = Unauthorized("invalid or expired token")
    if token.startswith(API_TOKEN_PREFIX):
        return user_for_api_token(session, token)
    try:
        claims = tokens.decode(settings, token, "access")
    except tokens.InvalidToken as exc:
        raise invalid from exc
    if not session_is_live(session, claims.family, claims.user_id):
        raise invalid
    user = session.get(User, claims.user_id)
    if not usable(user):
        raise invalid
    return user


def purge_expired(session: Session, settings: Settings) -> int:
    """Remove sessions (and, by cascade, their refresh tokens) that ended a while ago."""
    cutoff = utcnow() - timedelta(days=1)
    ended = select(AuthSession.id).where(or_(AuthSession.expires_at < cutoff,
                                             AuthSession.revoked_at < cutoff))
    ids = list(session.scalars(ended.limit(10_000)).all())
    if ids:
        session.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(ids)))
        session.execute(delete(AuthSession).where(AuthSession.id.in_(ids)))
    return len(ids)


# Personal API tokens -------------------------------------------------------------------------

def create_api_token(session: Session, user: User, name: str,
                     expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the secret is returned here only, never again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Unprocessable("name must be 1 to 100 characters", field="name")
    live = session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                     ApiToken.revoked_at.is_(None))).all()
    if len(live) >= MAX_API_TOKENS:
        raise Unprocessable(f"at most {MAX_API_TOKENS} tokens per account; revoke one first")
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:12], token_hash=digest(secret),
                     created_at=now,
                     expires_at=now + timedelta(days=expires_days) if expires_days else None)
    session.add(token)
    session.flush()
    audit.record(session, "token.create", actor=user, target=("api_token", token.id),
                 detail={"name": name, "expires_at": token.expires_at})
    return token, secret


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id.desc())).all())


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, "token.revoke", actor=user, target=("api_token", token.id),
                     detail={"name": token.name})


def user_for_api_token(session: Session, secret: str) -> User:
    invalid = Unauthorized("invalid, expired or revoked API token")
    if len(secret) > 200:
        raise invalid
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (
            token.expires_at is not None and token.expires_at <= now):
        raise invalid
    user = session.get(User, token.user_id)
    if not usable(user):
        raise invalid
    # Written at most every few minutes, not on each request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        session.flush()
    user.__dict__["_openwan_api_token"] = token.id
    return user


def via_api_token(user: User) -> bool:
    """Whether the current request authenticated with a personal API token."""
    return user.__dict__.get("_openwan_api_token") is not None
