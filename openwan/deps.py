"""Request dependencies: settings, the transaction at the edge, the caller, storage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openwan.access.tokens import InvalidToken, decode
from openwan.config import Settings
from openwan.db import read_session_factory, session_factory
from openwan.kit.errors import Unauthorized
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
        user_id = _cookie_user_id(request, settings)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is None or not user.enabled or user.locked:
                raise Unauthorized("session expired; sign in again")
            request.state.user_id = user.id
            return user
    user = load_user(session, settings, bearer_token(request))
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# Users in the row cache: no password hash leaves the database.
_USER_UNCACHED = frozenset({"password_hash"})


def _load_user_entry(settings: Settings, user_id: int) -> tuple[bytes, User] | None:
    from openwan.cache import rows

    with read_session_factory(settings)() as session:
        user = session.get(User, user_id)
        if user is None:
            return None
        data = rows.encode(user, _USER_UNCACHED)
    return data, rows.restore(User, data)


_CLAIMS_SECONDS = 60.0
_CLAIMS_MAX = 10_000


def _access_claims(request: Request, settings: Settings, token: str):
    """Verified claims of an access token, remembered for a minute per app: verifying an
    HS256 token costs more than the rest of a cached request. Expiry is checked every time."""
    memo: dict | None = getattr(request.app.state, "openwan_claims", None)
    if memo is None:
        memo = request.app.state.openwan_claims = {}
    now = time.monotonic()
    hit = memo.get(token)
    if hit is not None and hit[0] > now and hit[1].expires_at.timestamp() > time.time():
        return hit[1]
    try:
        claims = decode(settings, token, "access")
    except InvalidToken as exc:
        raise Unauthorized("invalid or expired token") from exc
    if len(memo) >= _CLAIMS_MAX:
        memo.clear()
    memo[token] = (now + _CLAIMS_SECONDS, claims)
    return claims


def _cookie_user_id(request: Request, settings: Settings) -> int | None:
    """A browser signed in to the web UI: the session cookie, with CSRF on state changes."""
    if "authorization" in request.headers:
        return None
    from openwan.web import session as web_session

    user_id = web_session.user_id_from_cookie(request, settings)
    if user_id is not None:
        web_session.check_csrf(request)
    return user_id


async def cached_current_user(request: Request) -> User:
    """The caller, from the token and the row cache: no threadpool, no session when warm.

    The user is a detached snapshot (invalidated after any commit that changes the row), fit
    for rights checks and serialisation, not for changing.
    """
    from starlette.concurrency import run_in_threadpool

    from openwan import cache
    from openwan.cache import rows

    settings: Settings = request.app.state.settings
    user_id = _cookie_user_id(request, settings)
    if user_id is None:
        user_id = _access_claims(request, settings, bearer_token(request)).user_id
    entities = cache.entities()
    (user,), tokens = entities.get_many("user", [user_id],
                                        lambda data: rows.restore(User, data))
    if user is None:
        loaded = await run_in_threadpool(_load_user_entry, settings, user_id)
        if loaded is not None:
            data, user = loaded
            if tokens is not None:
                entities.put_many("user", [(user_id, tokens[0], data, user)])
    if user is None or not user.enabled or user.locked:
        raise Unauthorized("invalid or expired token")
    request.state.user_id = user.id
    return user


CachedUser = Annotated[User, Depends(cached_current_user)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
