"""Structured logs: one JSON object per line on stdout, secrets redacted.

awslogs ships stdout to CloudWatch Logs line by line, so every record is a single JSON object
with ``time``, ``level``, ``message``, ``logger`` and, inside a request, ``request_id``,
``trace_id``, ``user_id`` and ``route``; extra fields (``operation``, ``duration``,
``api_endpoint``, ``response_time``…) sit at the top level where Logs Insights finds them.

Redaction runs on the finished line, so nothing escapes it: message, extras and tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from openwan.observability import tracing
from openwan.observability.context import current_request

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}

REDACTED = "[REDACTED]"

# (triggers, pattern, replacement): a pattern runs only when one of its triggers (lower case)
# is in the lower-cased line, so ordinary lines cost a few substring checks, not six regexes.
_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    # JSON Web Tokens (three base64url parts, the first always starts with '{"' → eyJ).
    (("eyj",), re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Authorization headers and their values.
    (("bearer", "basic"), re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
     r"\1 " + REDACTED),
    # Presigned URL parts and credentials in query strings.
    (("signature=", "credential=", "token=", "password=", "secret=", "awsaccesskeyid="),
     re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)|Signature|"
                r"AWSAccessKeyId|access_token|refresh_token|token|password|secret)"
                r"=[^&\s\"'\\]+"), r"\1=" + REDACTED),
    # user:password@ in URLs (database and Redis URLs).
    (("://",), re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s\"']*):[^@/\s\"']+@"),
     r"\1:" + REDACTED + "@"),
    # "password": "…" style pairs, in JSON (possibly escaped inside a message) or reprs.
    (("passw", "secret", "token", "authorization", "api_key"),
     re.compile(r"(?i)((?:password|passwd|secret|auth_token|access_token|refresh_token|"
                r"authorization|api_key)\\?[\"']?\s*[:=]\s*\\?[\"'])[^\"'\\]+"),
     r"\1" + REDACTED),
]
_every = dict.fromkeys(t for triggers, _, _ in _PATTERNS for t in triggers)
# Whether any pattern could apply: the triggers, without those containing another one.
_TRIGGERS = tuple(t for t in _every if not any(o != t and o in t for o in _every))


class Redactor:
    """Removes known secret values and secret-shaped strings from text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._exact: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, values: Iterable[str | None]) -> None:
        """Add exact values (the JWT secret, database password…) that must never be logged."""
        with self._lock:
            # Very short values would redact ordinary words; they are refused at start-up anyway.
            self._secrets |= {v for v in values if v and len(v) >= 6}
            if self._secrets:
                alternatives = sorted(self._secrets, key=len, reverse=True)
                self._exact = re.compile("|".join(re.escape(v) for v in alternatives))

    def __call__(self, text: str) -> str:
        if self._exact is not None:
            text = self._exact.sub(REDACTED, text)
        lowered = text.lower()
        # Most lines hold no trigger at all: one flat pass decides that.
        for trigger in _TRIGGERS:
            if trigger in lowered:
                break
        else:
            return text
        for triggers, pattern, replacement in _PATTERNS:
            if any(t in lowered for t in triggers):
                text = pattern.sub(replacement, text)
        return text


redact = Redactor()


_second: list = [-1, ""]  # the last formatted second: most lines share it


def _iso(created: float) -> str:
    seconds = int(created)
    if _second[0] != seconds:
        _second[:] = [seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))]
    return f"{_second[1]}.{int((created - seconds) * 1000):03d}Z"


# One encoder for every line (``json.dumps`` with options builds a new one each call).
_json = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; request context and extras at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        info = current_request.get()
        if info is not None:
            entry["request_id"] = info.request_id
            if info.trace_id:
                entry["trace_id"] = info.trace_id
            user_id = info.current_user_id()
            if user_id is not None:
                entry["user_id"] = user_id
            if info.route:
                entry["route"] = info.route
        if "trace_id" not in entry:
            trace_id = tracing.current_xray_trace_id()
            if trace_id:
                entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and (key[0] != "_" or key == "_aws"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return redact(_json.encode(entry))


class TextFormatter(logging.Formatter):
    """For people at a terminal (OPENWAN_LOG_FORMAT=text); still redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def register_settings_secrets(settings) -> None:
    """Every secret the settings hold becomes an exact-match redaction."""
    values: list[str | None] = []
    for secret in (settings.auth.jwt_secret, settings.auth.jwt_previous, settings.db.password,
                   settings.redis.auth_token, settings.auth.admin_password):
        if secret is not None:
            value = secret.get_secret_value()
            values.extend([value, *value.split(",")])
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    for url in (settings.db.url, settings.db.replica_url):
        try:
            values.append(make_url(url).password if url else None)
        except ArgumentError:  # an unparsable URL is reported by the engine when it connects
            continue
    redact.register(v.strip() if v else None for v in values)


_HANDLER_MARK = "_openwan_handler"


def configure_logging(settings, *, stream=None) -> logging.Handler:
    """Install the JSON (or text) handler on the root logger; uvicorn's loggers propagate to it.

    Idempotent: a second call replaces the handler it installed before.
    """
    register_settings_secrets(settings)
    handler = logging.StreamHandler(stream or sys.stdout)
    fmt = settings.observability.log_format.lower()
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our own middleware writes one access line per request, with the fields Insights needs.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def uvicorn_log_config() -> None:
    """``log_config`` for ``uvicorn.run``: None leaves logging to ``configure_logging``."""
    return None
