"""The web UI's session: an HttpOnly cookie plus a double-submit CSRF token.

API clients send ``Authorization: Bearer``; browsers carry the session cookie, and every
state-changing request from a page must echo the CSRF cookie in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from openwan.access.tokens import InvalidToken, decode, issue
from openwan.config import Settings
from openwan.kit.errors import Forbidden

SESSION_COOKIE = "openwan_session"
CSRF_COOKIE = "openwan_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_HOURS = 12
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or \
        request.headers.get("x-forwarded-proto", "").lower() == "https"


def start(response: Response, request: Request, settings: Settings, user_id: int,
          session_id: str) -> None:
    """Set the cookies for a login session (``session_id``: its row, which logout,
    password change and lock revoke, ending the browser's session with the others)."""
    token, _ = issue(settings, user_id, "session", family=session_id,
                     ttl=timedelta(hours=SESSION_HOURS))
    secure = _secure(request)
    max_age = SESSION_HOURS * 3600
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure,
                        samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), max_age=max_age,
                        httponly=False, secure=secure, samesite="strict", path="/")


def end(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def from_cookie(request: Request, settings: Settings) -> tuple[int, str] | None:
    """``(user id, login session id)`` from the session cookie, or None. Whether that
    login session is still live is for the caller to check."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = decode(settings, token, "session")
    except InvalidToken:
        return None
    return (claims.user_id, claims.family) if claims.family else None


def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated state change that does not echo the CSRF cookie."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected, given):
        raise Forbidden("missing or wrong CSRF token (send the openwan_csrf cookie's value "
                        "in X-CSRF-Token)", code="csrf")
