"""Server-rendered pages; the data comes from the JSON API, fetched by a small script."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from openwan.access import permissions
from openwan.access import service as accounts
from openwan.access.rules import Access, access_of
from openwan.access.tokens import decode
from openwan.assets.schemas import AssetId
from openwan.db import session_factory, unit_of_work
from openwan.deps import client_ip
from openwan.kit.errors import APIError, Unauthorized
from openwan.models import User
from openwan.web import i18n
from openwan.web import session as web_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
# Any one of these opens the administration page (each section needs its own).
ADMIN_PERMISSIONS = (permissions.ADMIN_USERS, permissions.ADMIN_GROUPS, permissions.ADMIN_ROLES,
                     permissions.ADMIN_LEVELS, permissions.ADMIN_CATEGORIES,
                     permissions.ADMIN_CATALOG, permissions.AUDIT_READ)
templates.env.globals["admin_permissions"] = ADMIN_PERMISSIONS


def _user(request: Request) -> tuple[User, Access] | None:
    from openwan.access.sessions import session_is_live

    settings = request.app.state.settings
    caller = web_session.from_cookie(request, settings)
    if caller is None:
        return None
    user_id, session_id = caller
    with unit_of_work(settings) as session:
        user = session.get(User, user_id)
        if (user is None or not user.enabled or user.locked
                or not session_is_live(session, session_id, user_id)):
            return None
        access = access_of(user, session)
        session.expunge(user)
        return user, access


def _permissions(access: Access) -> set[str]:
    """What the page shows the caller: every permission an administrator holds implicitly."""
    return set(permissions.BUILTIN) if access.is_admin else set(access.permissions)


def _lang_url(request: Request, lang: str) -> str:
    """The same page in the other language, its query (``?next=``, filters) kept."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", "en" if lang == "zh" else "zh"))
    return request.url.path + "?" + urlencode(query)


def _render(request: Request, name: str, *, user: User | None, can: set[str],
            status_code: int = 200, **context) -> Response:
    lang = i18n.language(request)
    response = templates.TemplateResponse(request, name, {
        "t": i18n.strings(lang), "lang": lang, "user": user, "can": can,
        "page": name.removesuffix(".html"), "lang_url": _lang_url(request, lang),
        "strings_json": i18n.strings_json(lang), **context}, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie("openwan_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


def _page(request: Request, name: str, *, needs: tuple[str, ...] = (), **context) -> Response:
    """A signed-in page; ``needs``: any one of these permissions (else the not-found page)."""
    found = _user(request)
    if found is None:
        return RedirectResponse(f"/login?next={quote(_here(request))}", status_code=303)
    user, access = found
    if user.must_change_password and name != "password.html":
        return RedirectResponse(f"/password?next={quote(_here(request))}", status_code=303)
    can = _permissions(access)
    if needs and not can.intersection(needs):
        return _render(request, "notfound.html", user=user, can=can, status_code=404)
    return _render(request, name, user=user, can=can, **context)


def _here(request: Request) -> str:
    return request.url.path + ("?" + request.url.query if request.url.query else "")


@router.get("/")
def home() -> Response:
    return RedirectResponse("/search", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/search", error: str | None = None) -> Response:
    return _render(request, "login.html", user=None, can=set(), next=_safe_next(next),
                   error=error)


def _safe_next(target: str) -> str:
    # Only local paths: never redirect a signed-in user to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/search"


@router.post("/login")
def login_submit(request: Request, username: Annotated[str, Form(max_length=256)],
                 password: Annotated[str, Form(max_length=1024)],
                 next: Annotated[str, Form()] = "/search") -> Response:
    """Sign in through the same service as the API: throttled, audited, a login session."""
    settings = request.app.state.settings
    session = session_factory(settings)()
    try:
        pair = accounts.login(session, settings, username, password, ip=client_ip(request),
                              user_agent=request.headers.get("user-agent"))
        user_id = decode(settings, pair.access_token, "access").user_id
        session.commit()
    except APIError as exc:
        session.commit()  # the failed attempt's audit entry and throttle state
        t = i18n.strings(i18n.language(request))
        message = t["bad_login"] if exc.status == 401 else t.get(f"error.{exc.code}",
                                                                  exc.message)
        response = _render(request, "login.html", user=None, can=set(), next=_safe_next(next),
                           error=message, status_code=exc.status)
        response.headers.update(exc.headers or {})
        return response
    finally:
        session.close()
    target = _safe_next(next)
    if pair.password_change_required:
        target = f"/password?next={quote(target)}"
    response = RedirectResponse(target, status_code=303)
    web_session.start(response, request, settings, user_id, pair.session_id)
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, next: str = "/search") -> Response:
    """Choose a new password: by choice, or first of all for an account that must."""
    return _page(request, "password.html", next=_safe_next(next))


class PasswordForm(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post("/password")
def password_submit(request: Request, body: PasswordForm) -> Response:
    """Change the password through the API's service; the browser's login session, ended
    with every other one, is replaced by the fresh one the change opens."""
    web_session.check_csrf(request)
    settings = request.app.state.settings
    caller = web_session.from_cookie(request, settings)
    found = _user(request)
    if caller is None or found is None:
        raise Unauthorized()
    session = session_factory(settings)()
    try:
        user = session.get(User, found[0].id)
        pair = accounts.change_password(session, settings, user, body.current_password,
                                        body.new_password, ip=client_ip(request),
                                        user_agent=request.headers.get("user-agent"))
        session.commit()
    except APIError:
        session.commit()  # a wrong current password stays in the audit log
        raise
    finally:
        session.close()
    response = JSONResponse({"changed": True})
    web_session.start(response, request, settings, user.id, pair.session_id)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the browser's login session (its row is revoked, not just the cookie dropped)."""
    from openwan.access.sessions import revoke
    from openwan.models import AuthSession

    web_session.check_csrf(request)
    settings = request.app.state.settings
    caller = web_session.from_cookie(request, settings)
    if caller is not None:
        with unit_of_work(settings) as session:
            auth = session.get(AuthSession, caller[1])
            if auth is not None and auth.user_id == caller[0]:
                revoke(session, auth, "logout")
    response = RedirectResponse("/login", status_code=303)
    web_session.end(response)
    return response


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    """Search and browse; the query string is the page's state (shared links, back/forward),
    read by the page's script."""
    return _page(request, "search.html")


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> Response:
    return _page(request, "upload.html", needs=(permissions.ASSET_UPLOAD,))


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: AssetId) -> Response:
    """One asset, its title in ``<title>``; the not-found page (404) when it is missing or not
    the caller's to see. What the caller may do with it comes with the page (the rules are
    per category and level, more than the caller's permission names tell)."""
    found = _user(request)
    if found is None:
        return _page(request, "asset.html")  # the sign-in redirect
    user, access = found
    can = _permissions(access)
    settings = request.app.state.settings
    with unit_of_work(settings) as session:
        from openwan.access import rules
        from openwan.models import Asset

        viewer = session.get(User, user.id)
        rules.attach_access(viewer, access)
        asset = session.get(Asset, asset_id)
        if asset is None or not rules.can_view(viewer, asset):
            return _render(request, "notfound.html", user=user, can=can, status_code=404)
        manages = {name: rules.can_manage(viewer, asset, permission) for name, permission in (
            ("catalog", permissions.ASSET_CATALOG), ("review", permissions.ASSET_REVIEW),
            ("delete", permissions.ASSET_DELETE))}
        uploader = asset.uploaded_by == user.id
        may = [name for name, held in manages.items() if held]
        if uploader:
            may.append("uploader")
        # Downloads that need neither the published state nor the asset's flag.
        if access.is_admin or uploader or manages["review"]:
            may.append("download")
        if access.is_admin or uploader:
            may.append("reprocess")
        title, kind = asset.title, asset.type
        edit_states = sorted(rules.edit_states(viewer, asset))
        # The categories the caller may file it under, by their full names (only for those
        # who may edit it: a reader sees no category outside their groups).
        choices = _category_choices(session, access) if edit_states else []
    return _render(request, "asset.html", user=user, can=can, asset_id=asset_id,
                   asset_title=title, asset_type=kind, may=" ".join(may),
                   edit_states=" ".join(edit_states),
                   category_choices=choices)


def _category_choices(session, access: Access) -> list[tuple[int, str]]:
    from openwan.catalog import categories

    rows = categories.listing(session, include_disabled=False)
    names = {c.id: c.name for c in rows}
    choices = []
    for category in rows:
        if access.is_admin or access.covers_category(category.id):
            chain = [names.get(int(p), "?") for p in category.path.strip("/").split("/") if p]
            choices.append((category.id, " / ".join(chain)))
    return sorted(choices, key=lambda c: c[1])


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> Response:
    return _page(request, "review.html", needs=(permissions.ASSET_REVIEW,))


@router.get("/bin", response_class=HTMLResponse)
def bin_page(request: Request) -> Response:
    """The recycle bin: deleted assets, to restore or purge."""
    return _page(request, "bin.html", needs=(permissions.ASSET_DELETE,))


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    return _page(request, "admin.html", needs=ADMIN_PERMISSIONS)


def not_found_page(request: Request) -> Response:
    """The page a browser gets for a path that is not there (or not the caller's to see)."""
    found = _user(request)
    user, can = (found[0], _permissions(found[1])) if found else (None, set())
    return _render(request, "notfound.html", user=user, can=can, status_code=404)
