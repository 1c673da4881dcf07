"""The user centre: one's own profile, password and personal API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openwan.access import service, sessions
from openwan.access.endpoints.out import me_out
from openwan.access.schemas import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    PasswordChange,
    ProfilePatch,
    TokenOut,
)
from openwan.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from openwan.kit.errors import Forbidden
from openwan.kit.ids import Id

router = APIRouter(prefix="/api/v1/me", tags=["me"])


@router.get("", response_model=MeOut)
def get_me(user: CurrentUser, session: SessionDep) -> MeOut:
    return me_out(session, user)


@router.patch("", response_model=MeOut)
def patch_me(body: ProfilePatch, user: CurrentUser, session: SessionDep) -> MeOut:
    service.update_profile(session, user, body.model_dump(exclude_unset=True))
    return me_out(session, user)


@router.post("/password", response_model=TokenOut, response_model_exclude_none=True, responses={
    403: {"description": "the current password is wrong"}})
def change_password(body: PasswordChange, request: Request, user: CurrentUser,
                    session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Every session of the account ends; the answer carries a fresh pair for this one."""
    try:
        pair = service.change_password(session, settings, user, body.current_password,
                                       body.new_password, ip=client_ip(request),
                                       user_agent=request.headers.get("user-agent"))
    except Forbidden:
        session.commit()  # the failed attempt stays in the audit log
        raise
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                    expires_in=pair.expires_in)


@router.get("/tokens", response_model=list[ApiTokenOut])
def list_tokens(user: CurrentUser, session: SessionDep) -> list:
    return sessions.list_api_tokens(session, user)


@router.post("/tokens", status_code=201, response_model=ApiTokenCreated)
def create_token(body: ApiTokenIn, user: CurrentUser, session: SessionDep) -> ApiTokenCreated:
    """A personal API token for scripts (``Authorization: Bearer owp_…``), shown once."""
    if sessions.via_api_token(user):
        raise Forbidden("sign in with your password to create API tokens")
    token, secret = sessions.create_api_token(session, user, body.name, body.expires_days)
    return ApiTokenCreated(**ApiTokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    sessions.revoke_api_token(session, user, token_id)
    return Response(status_code=204)
