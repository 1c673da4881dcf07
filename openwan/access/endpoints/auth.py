from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from openwan.access import audit, service, sessions, tokens
from openwan.access.endpoints.out import user_out
from openwan.access.schemas import LoginIn, LogoutIn, RefreshIn, TokenOut, UserOut
from openwan.deps import CurrentUser, SessionDep, SettingsDep, bearer_token, client_ip
from openwan.kit.errors import APIError
from openwan.models import AuthSession, RefreshToken

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _out(pair: sessions.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                    expires_in=pair.expires_in,
                    password_change_required=pair.password_change_required or None)


@router.post("/login", response_model=TokenOut, response_model_exclude_none=True, responses={
    401: {"description": "wrong username or password"},
    403: {"description": "account locked or disabled"},
    429: {"description": "too many failed attempts for this account or address"}})
def login(body: LoginIn, request: Request, session: SessionDep,
          settings: SettingsDep) -> TokenOut:
    try:
        pair = service.login(session, settings, body.username, body.password,
                             ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    except APIError:
        session.commit()  # the failed attempt stays in the audit log
        raise
    return _out(pair)


@router.post("/refresh", response_model=TokenOut, response_model_exclude_none=True)
def refresh(body: RefreshIn, request: Request, session: SessionDep,
            settings: SettingsDep) -> TokenOut:
    """Rotate: the refresh token is spent and a new pair returned. A spent token presented
    again revokes its whole session."""
    try:
        pair = sessions.rotate(session, settings, body.refresh_token, ip=client_ip(request))
    except sessions.RefreshReused:
        session.commit()  # keep the revocation
        raise
    return _out(pair)


@router.post("/logout", status_code=204)
def logout(request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep,
           body: LogoutIn | None = None) -> Response:
    """End the session of the access token (and of ``refresh_token`` when given)."""
    ended = set()
    try:
        claims = tokens.decode(settings, bearer_token(request), "access")
        if claims.family:
            ended.add(claims.family)
    except tokens.InvalidToken:
        pass  # a personal API token: there is no session to end
    if body is not None and body.refresh_token:
        row = session.scalar(select(RefreshToken).where(
            RefreshToken.token_hash == sessions.digest(body.refresh_token)))
        if row is not None:
            ended.add(row.session_id)
    for session_id in sorted(ended):
        auth = session.get(AuthSession, session_id)
        if auth is not None and auth.user_id == user.id:
            sessions.revoke(session, auth, "logout")
            audit.record(session, "auth.logout", actor=user, target=("session", session_id))
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return user_out(user)
