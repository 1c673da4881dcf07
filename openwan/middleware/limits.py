"""Limits, in one plain ASGI layer inside CORS (so refusals carry CORS headers and browser
preflights are not counted): per-client-IP request rates and JSON body sizes."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from openwan.middleware import ratelimit, security

# Methods whose bodies are not read.
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, *, rate: ratelimit.RateLimiter, max_bytes: int) -> None:
        self.app = app
        self.rate = rate
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        client = scope.get("client")
        refused = self.rate.check(method, scope["path"], client[0] if client else "unknown",
                                  _declared_length(scope) if method == "PATCH" else 0)
        if refused is not None:
            await ratelimit.refuse(send, *refused)
            return
        where = security.nul_in_target(scope)
        if where is not None:
            await security.refuse_nul(send, where)
            return
        if method not in _BODYLESS:
            limited = security.limited_receive(scope, receive, self.max_bytes)
            if limited is None:
                await security.too_large(send, self.max_bytes)
                return
            receive = limited
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
