"""Server-rendered pages; the data comes from the JSON API, fetched by a small script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from openwan.access import service as accounts
from openwan.access.tokens import decode
from openwan.assets.schemas import AssetId
from openwan.db import session_factory, unit_of_work
from openwan.deps import client_ip
from openwan.kit.errors import APIError
from openwan.models import User
from openwan.web import i18n
from openwan.web import session as web_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def _user(request: Request) -> User | None:
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
        session.expunge(user)
        return user


def _page(request: Request, name: str, **context) -> Response:
    user = _user(request)
    if user is None:
        target = quote(request.url.path)
        return RedirectResponse(f"/login?next={target}", status_code=303)
    lang = i18n.language(request)
    t = i18n.strings(lang)
    response = templates.TemplateResponse(request, name, {
        "t": t, "lang": lang, "user": user, "page": name.removesuffix(".html"),
        # "</" could end the <script> element that carries the JSON.
        "strings_json": json.dumps(t, ensure_ascii=False).replace("</", "<\\/"), **context})
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("openwan_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/search", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/search", error: str | None = None) -> Response:
    lang = i18n.language(request)
    return templates.TemplateResponse(request, "login.html", {
        "t": i18n.strings(lang), "lang": lang, "next": _safe_next(next), "error": error,
        "user": None, "page": "login", "strings_json": "{}"})


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
        lang = i18n.language(request)
        message = i18n.strings(lang)["bad_login"] if exc.status == 401 else exc.message
        return templates.TemplateResponse(request, "login.html", {
            "t": i18n.strings(lang), "lang": lang, "next": _safe_next(next), "user": None,
            "error": message, "page": "login", "strings_json": "{}"},
            status_code=exc.status, headers=exc.headers or None)
    finally:
        session.close()
    response = RedirectResponse(_safe_next(next), status_code=303)
    web_session.start(response, request, settings, user_id, pair.session_id)
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
    return _page(request, "search.html")


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> Response:
    return _page(request, "upload.html")


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: AssetId) -> Response:
    return _page(request, "asset.html", asset_id=asset_id)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> Response:
    return _page(request, "review.html")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    return _page(request, "admin.html")
