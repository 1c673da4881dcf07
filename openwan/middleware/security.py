"""Security headers on every response, HSTS behind HTTPS, and small JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

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
_CSP = b"content-security-policy"
_HSTS = b"strict-transport-security"
_OURS = frozenset(name for name, _ in _FIXED) | {_CSP, _HSTS}
_UI = (_CSP, UI_CSP.encode())
_API = (_CSP, API_CSP.encode())
_DOCS = (_CSP, DOCS_CSP.encode())


def is_docs(path: str) -> bool:
    return path in ("/docs", "/redoc") or path.startswith("/docs/")


def response_headers(headers: Iterable[tuple[bytes, bytes]], *, docs: bool,
                     https: bool) -> list[tuple[bytes, bytes]]:
    """A response's headers with ours added (a header the response set itself is kept): the
    fixed ones, a CSP for pages, the API or the docs, and HSTS when served over HTTPS."""
    out = list(headers)
    present = set()
    content_type = b""
    for name, value in out:
        name = name.lower()
        if name in _OURS:
            present.add(name)
        elif name == b"content-type":
            content_type = value
    out += _FIXED if not present else [pair for pair in _FIXED if pair[0] not in present]
    if _CSP not in present:
        out.append(_DOCS if docs else _UI if content_type.startswith(b"text/html") else _API)
    if https and _HSTS not in present:
        out.append((_HSTS, HSTS))
    return out


# Bodies that are files: they have their own limits (upload settings, tus chunk size).
_STREAMED = (b"multipart/form-data", b"application/offset+octet-stream",
             b"application/octet-stream")


def limited_receive(scope: Scope, receive: Receive, max_bytes: int) -> Receive | None:
    """``receive`` for a request whose JSON or form body may not pass ``max_bytes`` (file
    bodies have their own limits): None when its declared length already does (answer with
    :func:`too_large`), else a ``receive`` that stops the request once the body passes it."""
    content_type = b""
    length = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.lower()
        elif name == b"content-length":
            length = value
    if content_type.startswith(_STREAMED):
        return receive
    if length is not None and length.isdigit() and int(length) > max_bytes:
        return None
    received = 0
    nul = NulScanner(content_type)

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            received += len(body)
            # FastAPI passes HTTPException through body parsing; the app renders it.
            if received > max_bytes:
                raise HTTPException(413, f"request body larger than {max_bytes} bytes")
            if nul.found(body):
                raise HTTPException(422, NUL_MESSAGE.format(where="the request body"))
        return message

    return counting_receive


async def too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "payload_too_large",
                                 "message": f"request body larger than {limit} bytes",
                                 "limit": limit}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# NUL in text: no database stores it as text (PostgreSQL refuses it), and no person types it.
# Refused once, here, for the URL, JSON and form bodies; file bodies are not text.
NUL_MESSAGE = "{where} contains a NUL character (\\u0000), which no text may hold"


def nul_in_target(scope: Scope) -> str | None:
    """Where the request's path or query string holds a NUL (raw or %-encoded): ``path`` or
    the query parameter's name; None when nowhere."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
        return "query"
    return None


async def refuse_nul(send: Send, field: str) -> None:
    where = "the path" if field == "path" else f"query parameter {field!r}"
    body = json.dumps({"error": {"code": "validation_error", "field": field,
                                 "message": NUL_MESSAGE.format(where=where)}}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class NulScanner:
    """Finds a NUL in a body arriving in pieces: a JSON ``\\u0000`` escape (not an escaped
    backslash followed by ``u0000``), a form's ``%00``, or a raw NUL byte."""

    _KEEP = 64  # bytes of the last piece kept, for a pattern (or backslashes) across pieces

    def __init__(self, content_type: bytes) -> None:
        self.json = b"json" in content_type
        self.form = content_type.startswith(b"application/x-www-form-urlencoded")
        self.tail = b""

    def found(self, piece: bytes) -> bool:
        if not piece:
            return False
        data = self.tail + piece
        self.tail = data[-self._KEEP:]
        if b"\x00" in data or (self.form and b"%00" in data):
            return True
        if not self.json:
            return False
        at = data.find(b"\\u0000")
        while at >= 0:
            run = 1  # backslashes ending at ``at``: an odd run escapes the "u"
            while at - run >= 0 and data[at - run] == 0x5C:
                run += 1
            if run % 2 == 1 or at - run < 0:
                return True
            at = data.find(b"\\u0000", at + 1)
        return False
