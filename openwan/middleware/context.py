"""Per request: an id, the log context, metrics by route template, one JSON access line.

The access line carries the fields the seed's Logs Insights query reads: ``api_endpoint``
(method and route template, e.g. ``GET /api/v1/assets/{asset_id}``) and ``response_time``
(milliseconds), beside ``status``, ``duration`` (ms) and the request context.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openwan.observability import tracing
from openwan.observability.context import RequestInfo, current_request
from openwan.observability.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS

access_log = logging.getLogger("openwan.access")
error_log = logging.getLogger("openwan.app")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        root = scope.get("root_path", "")
        return f"{root}{path}" if root and not path.startswith(root) else path
    return UNMATCHED


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = amzn = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    request_id = candidate
            elif name == b"x-amzn-trace-id":
                amzn = value.decode("latin-1")
        request_id = request_id or uuid.uuid4().hex
        trace_id = tracing.current_xray_trace_id()
        if trace_id is None and amzn:
            root = tracing.parse_xray_root(amzn)
            trace_id = tracing.format_xray(root) if root else None
        client = scope.get("client")
        info = RequestInfo(request_id=request_id, method=scope["method"], path=scope["path"],
                           client_ip=client[0] if client else None, trace_id=trace_id,
                           state=scope.setdefault("state", {}))
        token = current_request.set(info)
        status = 500
        sent = 0
        started = False
        header = (b"x-request-id", request_id.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
                if info.route is None:
                    info.route = route_template(scope)
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # Answered here rather than by the server's error middleware (outside this one),
            # so the traceback is logged with the request id, user and route.
            status = 500
            info.route = route_template(scope)
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await _internal_error(send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - start
            route = info.route = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            if self.access_log_enabled:
                ms = round(elapsed * 1000, 2)
                # 503 is "not ready / overloaded", an availability signal, not a bug.
                level = (logging.ERROR if status >= 500 and status != 503
                         else logging.WARNING if status == 503 else logging.INFO)
                access_log.log(level, "%s %s %d", method, scope["path"], status, extra={
                    "method": method, "path": scope["path"], "status": status,
                    "api_endpoint": f"{method} {route}", "response_time": ms, "duration": ms,
                    "bytes": sent, "client_ip": info.client_ip})
            current_request.reset(token)


async def _internal_error(send: Send) -> None:
    body = json.dumps({"error": {"code": "internal_error",
                                 "message": "internal error; it has been logged"}}).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
