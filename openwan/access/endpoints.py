from __future__ import annotations

from fastapi import APIRouter, Request

from openwan.access import service
from openwan.access.schemas import LoginIn, RefreshIn, TokenOut, UserOut
from openwan.access.tokens import InvalidToken, decode, issue
from openwan.config import Settings
from openwan.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from openwan.kit.errors import Unauthorized
from openwan.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _tokens(settings: Settings, user: User) -> TokenOut:
    access, _ = issue(settings, user.id, "access")
    refresh, _ = issue(settings, user.id, "refresh")
    return TokenOut(access_token=access, refresh_token=refresh,
                    expires_in=settings.auth.access_minutes * 60)


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> TokenOut:
    user = service.authenticate(session, body.username, body.password, ip=client_ip(request))
    if user is None:
        raise Unauthorized("wrong username or password")
    return _tokens(settings, user)


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    try:
        claims = decode(settings, body.refresh_token, "refresh")
    except InvalidToken as exc:
        raise Unauthorized("invalid or expired refresh token") from exc
    user = session.get(User, claims.user_id)
    if user is None or not user.enabled or user.locked:
        raise Unauthorized("invalid or expired refresh token")
    return _tokens(settings, user)


@router.post("/logout", status_code=204)
def logout(user: CurrentUser) -> None:
    # Access tokens are short-lived; refresh-token revocation arrives with the access model.
    return None


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    return user
