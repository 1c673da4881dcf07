"""Plain ASGI middleware (no BaseHTTPMiddleware: it buffers and breaks streaming).

Order, outermost first: the edge (who the client is, request id, logs, metrics, security
headers: it sees every answer, 429s included) → CORS, when origins are configured → limits
(rate, body size) → direct dispatch of the hottest reads → the application. Few layers: each
one costs on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute

from openwan.config import Settings
from openwan.middleware.direct import DirectRoutesMiddleware
from openwan.middleware.edge import EdgeMiddleware
from openwan.middleware.limits import LimitsMiddleware
from openwan.middleware.ratelimit import RateLimiter

# tus needs these readable by browser code on other origins (Uppy, tus-js-client).
TUS_EXPOSE = ["Location", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Tus-Resumable",
              "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Upload-Expires",
              "Tus-Checksum-Algorithm", "Retry-After", "X-Request-Id", "ETag", "Content-Range"]
TUS_ALLOW = ["Authorization", "Content-Type", "Upload-Offset", "Upload-Length",
             "Upload-Metadata", "Upload-Checksum", "Upload-Defer-Length", "Upload-Concat",
             "Tus-Resumable", "X-HTTP-Method-Override", "X-Request-Id", "X-CSRF-Token", "Range"]


def install(app: FastAPI, settings: Settings, direct: Iterable[APIRoute] = ()) -> None:
    """Add the production middleware to ``app`` (``add_middleware`` prepends: add inner first);
    ``direct``: routes marked for direct dispatch (``openwan.middleware.direct``)."""
    http = settings.http
    direct = list(direct)
    if direct:
        app.add_middleware(DirectRoutesMiddleware, routes=direct,
                           handlers=app.exception_handlers)
    app.add_middleware(LimitsMiddleware, max_bytes=http.max_json_bytes, rate=RateLimiter(
        limit=http.rate_limit, window=http.rate_window_seconds,
        login_limit=http.login_rate_limit, login_window=http.login_rate_window_seconds))
    origins = http.cors_origin_list
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                           allow_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE",
                                          "OPTIONS"],
                           allow_headers=TUS_ALLOW, expose_headers=TUS_EXPOSE, max_age=3600)
    if http.trusted_proxy_hops > 0 and http.origin_secret is None \
            and settings.env == "production":
        logging.getLogger("openwan.app").warning(
            "X-Forwarded-For is trusted (%d hops) from any caller that reaches this port; "
            "set OPENWAN_ORIGIN_SECRET (or _ARN) so that only the CDN's requests are believed",
            http.trusted_proxy_hops)
    app.add_middleware(EdgeMiddleware, hops=http.trusted_proxy_hops,
                       access_log_enabled=settings.observability.access_log,
                       origin_secret=http.origin_secret.get_secret_value()
                       if http.origin_secret else None)
