"""Security headers on every response, HSTS behind HTTPS, and small JSON bodies."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The web UI: our own scripts and styles only; media and images may come from the CDN or
# presigned S3 URLs (https:) and from blob: (players, previews).
UI_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
          "img-src 'self' data: blob: https:; media-src 'self' blob: https:; "
          "connect-src 'self' https:; font-src 'self'; object-src 'none'; "
          "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# Anything that is not a page (JSON, files) runs nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
# Interactive API docs load Swagger UI / ReDoc from a CDN with inline start-up code.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "worker-src blob:; frame-ancestors 'none'")
HSTS = b"max-age=31536000; includeSubDomains"

_FIXED = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        path = scope.get("path", "")
        docs = path in ("/docs", "/redoc") or path.startswith("/docs/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in _FIXED:
                    if name not in present:
                        headers.append((name, value))
                if b"content-security-policy" not in present:
                    content_type = next((v for n, v in headers if n.lower() == b"content-type"),
                                        b"")
                    csp = DOCS_CSP if docs else (
                        UI_CSP if content_type.startswith(b"text/html") else API_CSP)
                    headers.append((b"content-security-policy", csp.encode()))
                if https and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Bodies that are files: they have their own limits (upload settings, tus chunk size).
_STREAMED = (b"multipart/form-data", b"application/offset+octet-stream",
             b"application/octet-stream")


class BodyLimitMiddleware:
    """JSON and form bodies above ``max_bytes`` get 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        content_type = b""
        length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.lower()
            elif name == b"content-length":
                length = value
        if content_type.startswith(_STREAMED):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes HTTPException through body parsing; the app renders it.
                    raise HTTPException(413, f"request body larger than {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "payload_too_large",
                                 "message": f"request body larger than {limit} bytes",
                                 "limit": limit}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
