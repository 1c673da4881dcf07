"""Request dependencies: settings, the transaction at the edge, the caller, storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openwan.access.tokens import InvalidToken, decode
from openwan.config import Settings
from openwan.db import session_factory
from openwan.kit.errors import Unauthorized
from openwan.models import User
from openwan.storage import Storage, get_storage


def settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    session = session_factory(request.app.state.settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def storage_dep(request: Request) -> Storage:
    return get_storage(request.app.state.settings)


StorageDep = Annotated[Storage, Depends(storage_dep)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


def load_user(session: Session, settings: Settings, token: str) -> User:
    try:
        claims = decode(settings, token, "access")
    except InvalidToken as exc:
        raise Unauthorized("invalid or expired token") from exc
    user = session.get(User, claims.user_id)
    if user is None or not user.enabled or user.locked:
        raise Unauthorized("invalid or expired token")
    return user


def current_user(request: Request, session: SessionDep) -> User:
    settings = request.app.state.settings
    if "authorization" not in request.headers:
        # A browser signed in to the web UI: session cookie plus CSRF on state changes.
        from openwan.web import session as web_session

        user_id = web_session.user_id_from_cookie(request, settings)
        if user_id is not None:
            web_session.check_csrf(request)
            user = session.get(User, user_id)
            if user is None or not user.enabled or user.locked:
                raise Unauthorized("session expired; sign in again")
            request.state.user_id = user.id
            return user
    user = load_user(session, settings, bearer_token(request))
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
