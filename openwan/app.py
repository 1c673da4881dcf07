"""The FastAPI application: routers, error shape, health, background upkeep."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager, suppress

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from openwan import __version__
from openwan.config import Settings, get_settings
from openwan.kit.errors import APIError

log = logging.getLogger("openwan.app")

UPKEEP_SECONDS = 600


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # What exists at start-up (modules, models, routes) lives as long as the process:
        # kept out of the collector's full passes, which would otherwise stall every request
        # in flight for tens of milliseconds now and then.
        gc.freeze()
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http.threads
        task = asyncio.create_task(_upkeep(settings))
        try:
            yield
        finally:
            from openwan.uploads.endpoints import land_all

            await land_all()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="OpenWan", version=__version__, lifespan=lifespan,
                  description="Media asset management: ingest, catalogue, search, preview, "
                              "review and controlled access.")
    app.state.settings = settings
    _install_error_handlers(app)
    _install_health(app, settings)

    from openwan.access.endpoints import routers as access_routers
    from openwan.assets.endpoints import router as assets_router
    from openwan.catalog.endpoints import router as catalog_router
    from openwan.media.endpoints import router as media_router
    from openwan.search.endpoints import router as search_router
    from openwan.uploads.endpoints import router as uploads_router
    from openwan.web.endpoints import HERE as WEB
    from openwan.web.endpoints import router as web_router
    from openwan.workflow.endpoints import router as workflow_router

    # The asset routes first: the hot reads are matched without walking the other routers.
    routers = (assets_router, *access_routers, workflow_router, uploads_router, media_router,
               web_router, catalog_router, search_router)
    _install_production(app, settings, routers)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


async def _upkeep(settings: Settings) -> None:
    from openwan.uploads.service import purge_expired

    while True:
        try:
            removed = await run_in_threadpool(purge_expired, settings)
            if removed:
                log.info("removed %d expired uploads", removed)
            await run_in_threadpool(_purge_sessions, settings)
        except Exception:
            log.exception("upkeep failed; retrying later")
        try:
            await run_in_threadpool(_sweep_scratch, settings)
        except Exception:
            log.exception("sweeping abandoned temporary files failed; retrying later")
        try:
            from openwan.catalog.purge import purge_deleted

            await run_in_threadpool(purge_deleted, settings)
        except Exception:
            log.exception("recycle-bin purge failed; retrying later")
        await asyncio.sleep(UPKEEP_SECONDS)


def _sweep_scratch(settings: Settings) -> None:
    """Temporary files of uploads into local storage that a crash cut off."""
    from openwan.storage import get_storage
    from openwan.storage.local import LocalStorage

    storage = get_storage(settings)
    if isinstance(storage, LocalStorage):
        storage.sweep_temp()


def _purge_sessions(settings: Settings) -> None:
    from openwan.access import throttle
    from openwan.access.sessions import purge_expired
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        purge_expired(session, settings)
        throttle.purge(session, settings)


def _error(status: int, code: str, message: str, headers=None, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}},
                        status_code=status, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, not a file) gets the UI's not-found page."""
    path = request.url.path
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and not path.startswith(("/api/", "/static/", "/media/")))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append({"field": where, "message": err.get("msg", "invalid")})
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return _error(422, "validation_error", f"{first['field']}: {first['message']}",
                      details=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            from openwan.web.endpoints import not_found_page

            return await run_in_threadpool(not_found_page, request)
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                 416: "range_not_satisfiable", 422: "validation_error"}
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only.
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"),
                      str(exc.detail), headers=headers)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A check-then-insert lost a race, or a database compares names more loosely than
        # the check did (MariaDB's accent-insensitive collation): the caller's request
        # conflicts with what exists, not a bug. Other integrity errors are.
        if not _is_conflict(exc):
            return await unexpected(request, exc)
        return _error(409, "conflict", "this conflicts with an existing entry (the same name, "
                                       "or one still in use); reload and try again")

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        from openwan.db import UNAVAILABLE_RETRY_SECONDS

        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        return _error(503, "database_unavailable",
                      "the database cannot be reached right now; retry shortly",
                      headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
                      retry_after=UNAVAILABLE_RETRY_SECONDS)

    from openwan.db import unavailable_errors

    for error in unavailable_errors():
        app.add_exception_handler(error, database_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "internal error; it has been logged")


def _allowed_methods(request: Request) -> str:
    """Every method some route of the request's path takes, for a 405's ``Allow``."""
    from starlette.routing import Match

    routes = request.app.router.routes
    return ", ".join(method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL
        for route in routes))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _is_conflict(exc: IntegrityError) -> bool:
    """A unique key or foreign key refused the change (SQLite, MariaDB, PostgreSQL)."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is not None:
        return code in ("23505", "23503")
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # MySQL/MariaDB error numbers
        return args[0] in (1062, 1451, 1452)
    text = str(orig)
    return "UNIQUE constraint failed" in text or "FOREIGN KEY constraint failed" in text


def _install_health(app: FastAPI, settings: Settings) -> None:
    @app.get("/health", tags=["health"])
    async def health() -> dict:
        """The load balancer's check: the process serves requests."""
        return {"status": "ok", "version": __version__}

    @app.get("/alive", tags=["health"])
    async def alive() -> dict:
        """Liveness: the process answers (never checks dependencies: restarting won't help)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"])
    async def ready() -> JSONResponse:
        """Database, storage and queue reachable; 503 naming the failing part otherwise.
        The shared cache (Redis, when configured) is reported as ``cache``: ``ok`` or
        ``degraded: …`` (never a 503: requests are served without it). Each check runs in a
        thread with a time limit."""
        from openwan.observability.health import cache_state, checks_for, run_checks

        timeout = settings.observability.health_timeout_seconds
        checks, cache = await asyncio.gather(run_checks(checks_for(settings), timeout),
                                             cache_state(settings, timeout))
        failing = [name for name, state in checks.items() if state != "ok"]
        status = 503 if failing else 200
        body: dict = {"status": "unavailable" if failing else "ok", "checks": checks}
        if failing:
            body["failing"] = failing
        if cache is not None:
            body["cache"] = cache
        return JSONResponse(body, status_code=status)


def _install_production(app: FastAPI, settings: Settings, routers) -> None:
    """Cache and counters (Redis when configured), middleware, metrics, tracing."""
    from openwan import cache, middleware
    from openwan.middleware.direct import direct_routes
    from openwan.observability import metrics, tracing

    cache.configure(settings)
    metrics.configure(settings)
    # The routers are included as they are (no prefix or dependencies added on the way).
    middleware.install(app, settings, direct=direct_routes(routers))
    tracing.instrument_app(app)
