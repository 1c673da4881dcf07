"""Request dependencies: settings, the transaction at the edge, the caller, storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.db import read_session_factory, session_factory
from openwan.kit.errors import Forbidden, Unauthorized
from openwan.models import User
from openwan.storage import Storage, get_storage


async def settings_dep(request: Request) -> Settings:
    # async: a plain ``def`` dependency would cost a threadpool hop on every request.
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


def read_db_session(request: Request) -> Iterator[Session]:
    """A read-only session for list and search GETs: the replica when one is configured."""
    session = read_session_factory(request.app.state.settings)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(read_db_session, scope="function")]


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
    """The account behind an access token (whose session must be live) or a personal API
    token; 401 for anything else, including locked and disabled accounts."""
    from openwan.access.sessions import user_for_access_token

    return user_for_access_token(session, settings, token)


def current_user(request: Request, session: SessionDep) -> User:
    from openwan.access.rules import remember_ip

    settings = request.app.state.settings
    if "authorization" not in request.headers:
        user_id = _cookie_user_id(request, settings)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is None or not user.enabled or user.locked:
                raise Unauthorized("session expired; sign in again")
            request.state.user_id = user.id
            remember_ip(user, client_ip(request))
            return user
    user = load_user(session, settings, bearer_token(request))
    request.state.user_id = user.id
    remember_ip(user, client_ip(request))
    return user


CurrentUser = Annotated[User, Depends(current_user)]

def _cookie_user_id(request: Request, settings: Settings) -> int | None:
    """A browser signed in to the web UI: the session cookie, with CSRF on state changes."""
    if "authorization" in request.headers:
        return None
    from openwan.web import session as web_session

    user_id = web_session.user_id_from_cookie(request, settings)
    if user_id is not None:
        web_session.check_csrf(request)
    return user_id


def _identify(settings: Settings, request: Request) -> User:
    """The caller with their resolved rights attached, as a detached snapshot."""
    from openwan.access.rules import access_of, remember_ip
    from openwan.access.sessions import user_for_access_token

    with read_session_factory(settings)() as session:
        user_id = _cookie_user_id(request, settings)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is None or not user.enabled or user.locked:
                raise Unauthorized("session expired; sign in again")
        else:
            user = user_for_access_token(session, settings, bearer_token(request))
        access_of(user, session)  # kept on the object for the rights checks that follow
        session.expunge(user)
    remember_ip(user, client_ip(request))
    return user


async def cached_current_user(request: Request) -> User:
    """The caller for async read routes: identified and their rights resolved in one trip to
    the (read) database, off the event loop. The user is a detached snapshot, fit for rights
    checks and serialisation, not for changing."""
    from starlette.concurrency import run_in_threadpool

    user = await run_in_threadpool(_identify, request.app.state.settings, request)
    request.state.user_id = user.id
    return user


CachedUser = Annotated[User, Depends(cached_current_user)]


def require(*permissions: str) -> Any:
    """A dependency giving the caller when they hold every one of ``permissions`` (else 403).

    Use as ``user: Annotated[User, require("admin.users")]``.
    """
    from openwan.access.rules import access_of

    def check(user: CurrentUser, session: SessionDep) -> User:
        access = access_of(user, session)
        missing = [p for p in permissions if not access.has(p)]
        if missing:
            raise Forbidden(f"this needs the permission {', '.join(missing)}",
                            code="permission_denied", missing=missing)
        return user

    check.__name__ = "require_" + "_".join(p.replace(".", "_") for p in permissions)
    return Depends(check)


def Require(*permissions: str) -> Callable[..., Any]:  # noqa: N802 - reads as a type
    """``Require("admin.users")`` is ``Annotated[User, require("admin.users")]``."""
    return Annotated[User, require(*permissions)]  # type: ignore[return-value]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
