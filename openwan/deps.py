"""Request dependencies: settings, the transaction at the edge, the caller, storage."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openwan import cache
from openwan.access.rules import attach_access, remember_ip
from openwan.access.sessions import API_TOKEN_PREFIX, state_is_live
from openwan.cache import flight, rows
from openwan.config import Settings
from openwan.db import read_session_factory, session_factory, unit_of_work
from openwan.kit.errors import Forbidden, Unauthorized
from openwan.models import User
from openwan.storage import Storage, get_storage


async def settings_dep(request: Request) -> Settings:
    # async: a plain ``def`` dependency would cost a threadpool hop on every request.
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    with unit_of_work(request.app.state.settings) as session:
        yield session


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
        caller = _cookie_caller(request, settings)
        if caller is not None:
            user = _cookie_user(session, *caller)
            request.state.user_id = user.id
            remember_ip(user, client_ip(request))
            check_password_change(request, user)
            return user
    user = load_user(session, settings, bearer_token(request))
    request.state.user_id = user.id
    remember_ip(user, client_ip(request))
    check_password_change(request, user)
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# What an account that must choose a new password (an imported one) may still call.
PASSWORD_CHANGE_ROUTES = frozenset({"/api/v1/me/password", "/api/v1/me", "/api/v1/auth/me",
                                    "/api/v1/auth/logout"})


def check_password_change(request: Request, user: User) -> None:
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_ROUTES:
        raise Forbidden("choose a new password first (POST /api/v1/me/password)",
                        code="password_change_required")

def _cookie_caller(request: Request, settings: Settings) -> tuple[int, str] | None:
    """A browser signed in to the web UI: ``(user id, login session id)`` from the session
    cookie, with CSRF checked on state changes."""
    if "authorization" in request.headers:
        return None
    from openwan.web import session as web_session

    caller = web_session.from_cookie(request, settings)
    if caller is not None:
        web_session.check_csrf(request)
    return caller


def _cookie_user(session: Session, user_id: int, session_id: str) -> User:
    from openwan.access.sessions import session_is_live

    user = session.get(User, user_id)
    if (user is None or not user.enabled or user.locked
            or not session_is_live(session, session_id, user_id)):
        raise Unauthorized("session expired; sign in again")
    return user


def _identify(settings: Settings, request: Request) -> User:
    """The caller with their resolved rights attached, as a detached snapshot (the path for
    personal API tokens, and for every caller while the shared cache is unreachable)."""
    from openwan.access.rules import access_of
    from openwan.access.sessions import user_for_access_token

    # The primary: an API token's last use is written now and then.
    with session_factory(settings)() as session:
        caller = _cookie_caller(request, settings)
        if caller is not None:
            user = _cookie_user(session, *caller)
        else:
            user = user_for_access_token(session, settings, bearer_token(request))
            session.commit()
        access_of(user, session)  # kept on the object for the rights checks that follow
        session.expunge(user)
    return user


# Verified access-token claims, per app: verifying an HS256 token costs more than the rest of
# a cached request. Claims only; expiry is checked on every use, liveness in the cache.
_CLAIMS_SECONDS = 60.0
_CLAIMS_MAX = 10_000
# Users in the cache: no password hash leaves the database.
_USER_UNCACHED = frozenset({"password_hash"})
_GONE = b"null"


def _access_claims(request: Request, settings: Settings, token: str):
    from openwan.access.tokens import InvalidToken, decode

    memo: dict | None = getattr(request.app.state, "openwan_claims", None)
    if memo is None:
        memo = request.app.state.openwan_claims = {}
    now = time.monotonic()
    hit = memo.get(token)
    if hit is not None and hit[0] > now and hit[2] > time.time():
        return hit[1]
    try:
        claims = decode(settings, token, "access")
    except InvalidToken as exc:
        raise Unauthorized("invalid or expired token") from exc
    if len(memo) >= _CLAIMS_MAX:
        memo.clear()
    memo[token] = (now + _CLAIMS_SECONDS, claims, claims.expires_at.timestamp())
    return claims


def _load_identity(settings: Settings, session_id: str | None,
                   user_id: int) -> tuple[bytes | None, bytes, bytes]:
    """The login session's state, the user row and their resolved rights, as cache bytes.

    Read from the primary, not a replica: these are stored under versions read before, and a
    lagging replica could file a revoked session as live under the new version.
    """
    from openwan.access.rules import access_to_bytes, resolve
    from openwan.access.sessions import session_state
    with session_factory(settings)() as session:
        state = session_state(session, session_id) if session_id is not None else None
        user = session.get(User, user_id)
        if user is None:
            return state, _GONE, _GONE
        return state, rows.encode(user, _USER_UNCACHED), access_to_bytes(resolve(session, user))


def _user_values(data: bytes) -> dict | None:
    return None if data == _GONE else rows.decode(User, data)


def _access_value(data: bytes):
    from openwan.access.rules import access_from_bytes

    return None if data == _GONE else access_from_bytes(data)


def _session_value(data: bytes) -> dict:
    import json

    return json.loads(data)


_MISSING = object()


async def _cached_identity(settings: Settings, user_id: int, session_id: str | None,
                           invalid: str, request: Request,
                           prefetch: tuple[tuple[str, Any], ...] = ()) -> User:
    """The user behind ``user_id`` (and login session ``session_id``) with their rights, from
    the shared cache: with Redis one ``MGET`` of versions when warm, no query, no thread.

    Versions: ``session:{id}`` moves when the session row changes (logout, rotation, lock,
    password change: ``revoke_all`` moves every session), ``user:{id}`` with the user row and
    their own groups and roles, ``rights`` (an epoch) with any group, role, permission,
    category or level. The rights are filed under the user's version and the epoch.
    ``prefetch``: more (kind, id) whose versions come in the same round trip, left in
    ``request.state.cache_tokens`` for the route (the asset of a detail request).
    """
    entities = cache.entities()
    items: list[tuple[str, Any]] = [("user", user_id), ("rights", 0)]
    if session_id is not None:
        items.append(("session", session_id))
    tokens = entities.tokens(items + list(prefetch))
    if tokens is not None and prefetch:
        request.state.cache_tokens = dict(zip(prefetch, tokens[len(items):], strict=True))
    values: list[Any] = [_MISSING] * 3
    if tokens is not None:
        wanted = [("user", user_id, tokens[0], _user_values),
                  ("access", user_id, f"{tokens[0]}~{tokens[1]}", _access_value)]
        if session_id is not None:
            wanted.append(("session", session_id, tokens[2], _session_value))
        found = entities.lookup(wanted)
        values[:len(found)] = [_MISSING if v is None else v for v in found]
        if session_id is None:
            values[2] = None
    if any(v is _MISSING for v in values):
        def load() -> Awaitable[tuple[bytes | None, bytes, bytes]]:
            return run_in_threadpool(_load_identity, settings, session_id, user_id)

        # Concurrent requests of one caller whose entries just expired share one load.
        state, user_data, access_data = await (
            load() if tokens is None
            else flight.shared(("identity", user_id, session_id, *tokens[:len(items)]), load))
        values = [_user_values(user_data), _access_value(access_data),
                  _session_value(state) if state is not None else None]
        if tokens is not None:
            fresh = [("user", user_id, tokens[0], user_data, values[0]),
                     ("access", user_id, f"{tokens[0]}~{tokens[1]}", access_data, values[1])]
            if state is not None:
                fresh.append(("session", session_id, tokens[2], state, values[2]))
            # Gone users are stored too (as null), so unknown ids stay cheap to refuse.
            entities.store(fresh)
    user_values, access, state = values
    if session_id is not None and not state_is_live(state, user_id):
        raise Unauthorized(invalid)
    if user_values is None or not user_values["enabled"] or user_values["locked"]:
        raise Unauthorized(invalid)
    # A fresh instance per request: callers note per-request facts on it (the client's IP).
    user = rows.build(User, user_values)
    attach_access(user, access)
    return user


async def cached_current_user(request: Request) -> User:
    """The caller for async read routes, with their rights resolved: from the shared cache
    (no query, no threadpool when warm), from the database otherwise. Access tokens must name
    a live login session; personal API tokens take the database path every time.

    The user is a detached snapshot, fit for rights checks and serialisation, not for changing.
    """
    return await _cached_caller(request)


async def cached_asset_reader(request: Request, asset_id: int) -> User:
    """``cached_current_user`` for ``/assets/{asset_id}``: the asset's cache version is read
    in the same round trip as the caller's (``request.state.cache_tokens``)."""
    return await _cached_caller(request, (("asset", asset_id),))


async def _cached_caller(request: Request, prefetch: tuple[tuple[str, Any], ...] = ()) -> User:
    settings: Settings = request.app.state.settings
    caller = _cookie_caller(request, settings)
    if caller is not None:
        user = await _cached_identity(settings, caller[0], caller[1],
                                      "session expired; sign in again", request, prefetch)
    else:
        token = bearer_token(request)
        if token.startswith(API_TOKEN_PREFIX):
            user = await run_in_threadpool(_identify, settings, request)
        else:
            claims = _access_claims(request, settings, token)
            if not claims.family:
                raise Unauthorized("invalid or expired token")
            user = await _cached_identity(settings, claims.user_id, claims.family,
                                          "invalid or expired token", request, prefetch)
    remember_ip(user, client_ip(request))
    request.state.user_id = user.id
    check_password_change(request, user)
    return user


CachedUser = Annotated[User, Depends(cached_current_user)]
CachedAssetReader = Annotated[User, Depends(cached_asset_reader)]


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
