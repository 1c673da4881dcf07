"""Errors the caller caused, as ``{"error": {"code", "message"}}`` with a 4xx status."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator


class APIError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class BadRequest(APIError):
    status, code = 400, "bad_request"


class Unauthorized(APIError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(APIError):
    status, code = 403, "forbidden"


class NotFound(APIError):
    status, code = 404, "not_found"


class Conflict(APIError):
    status, code = 409, "conflict"


class PayloadTooLarge(APIError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(APIError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(APIError):
    status, code = 422, "validation_error"


# An absolute path of two segments or more (not a URL's "//host"): what an error message of
# a tool or the OS says about the server's own files.
_SERVER_PATH = re.compile(r"(?<![\w/.~-])/(?:[^\s/'\"<>|,;:()\[\]]+/)+([^\s/'\"<>|,;:()\[\]]*)")


def without_paths(text: str | None) -> str | None:
    """``text`` with the server's file paths cut to their last part (``input.mp4``): an
    error shown to users tells what failed, not where the server keeps its files."""
    if not text or "/" not in text:
        return text
    return _SERVER_PATH.sub(lambda match: match.group(1) or "…", text)


# A message field shown to users, stored before paths were cut from messages included.
PublicText = Annotated[str | None, AfterValidator(without_paths)]
