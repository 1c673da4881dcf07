"""Request dependencies: settings, the transaction at the edge, the caller, storage."""

from __future__ import annotations

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
    user = load_user(session, request.app.state.settings, bearer_token(request))
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


async def cached_current_user(request: Request) -> User:
    """The caller, from the token and the row cache: no threadpool, no session when warm.

    The user is a detached snapshot (invalidated after any commit that changes the row), fit
    for rights checks and serialisation, not for changing.
    """
    from starlette.concurrency import run_in_threadpool

    from openwan import cache
    from openwan.cache import rows

    settings: Settings = request.app.state.settings
    try:
        claims = decode(settings, bearer_token(request), "access")
    except InvalidToken as exc:
        raise Unauthorized("invalid or expired token") from exc
    entities = cache.entities()
    (user,), tokens = entities.get_many("user", [claims.user_id],
                                        lambda data: rows.restore(User, data))
    if user is None:
        loaded = await run_in_threadpool(_load_user_entry, settings, claims.user_id)
        if loaded is not None:
            data, user = loaded
            if tokens is not None:
                entities.put_many("user", [(claims.user_id, tokens[0], data, user)])
    if user is None or not user.enabled or user.locked:
        raise Unauthorized("invalid or expired token")
    request.state.user_id = user.id
    return user


CachedUser = Annotated[User, Depends(cached_current_user)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
