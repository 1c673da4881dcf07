"""The request's edge, outermost, in one plain ASGI layer: who the client is (proxy headers),
a request id and the log context, security headers, metrics by route template, and one JSON
access line per request.

One layer rather than one per concern: each layer costs a call, a closure and a copy of the
response's start message on every request, and a cached read is a few hundred microseconds
in all. The request headers are read in a single pass.

The access line carries the fields the seed's Logs Insights query reads: ``api_endpoint``
(method and route template, e.g. ``GET /api/v1/assets/{asset_id}``) and ``response_time``
(milliseconds), beside ``status``, ``duration`` (ms) and the request context.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openwan.middleware import proxy, security
from openwan.observability import tracing
from openwan.observability.context import RequestInfo, current_request
from openwan.observability.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS

access_log = logging.getLogger("openwan.access")
error_log = logging.getLogger("openwan.app")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED = "<unmatched>"
_ACCESS_FORMAT = "%s %s %d"

# (method, route template, status) -> (request counter, latency histogram): ``labels`` costs
# more than the ``inc`` and ``observe`` it leads to.
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_SERIES_MAX = 10_000


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        root = scope.get("root_path", "")
        return f"{root}{path}" if root and not path.startswith(root) else path
    return UNMATCHED


def _observe(method: str, route: str, status: int, seconds: float) -> None:
    series = _series.get((method, route, status))
    if series is None:
        if len(_series) >= _SERIES_MAX:  # methods are the client's to choose
            _series.clear()
        series = _series[method, route, status] = (
            HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
    series[0].inc()
    series[1].observe(seconds)


def _level(status: int) -> int:
    # 503 is "not ready / overloaded", an availability signal, not a bug.
    if status >= 500:
        return logging.WARNING if status == 503 else logging.ERROR
    return logging.INFO


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, hops: int = 0, access_log_enabled: bool = True,
                 origin_secret: str | None = None) -> None:
        self.app = app
        self.hops = hops
        self.access_log_enabled = access_log_enabled
        self.origin_secret = origin_secret.encode() if origin_secret else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self.hops > 0 and proxy.origin_trusted(
                    self.origin_secret, _origin(scope)):
                proxy.apply(scope, *proxy.forwarded_headers(scope["headers"]), self.hops)
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = amzn = xff = proto = origin = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    request_id = candidate
            elif name == b"x-amzn-trace-id":
                amzn = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                # Several headers are one list, in order.
                text = value.decode("latin-1")
                xff = text if xff is None else f"{xff},{text}"
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1")
            elif name == proxy.ORIGIN_HEADER:
                origin = value
        if self.hops > 0 and (xff or proto) and proxy.origin_trusted(self.origin_secret, origin):
            proxy.apply(scope, xff, proto, self.hops)
        request_id = request_id or os.urandom(16).hex()
        trace_id = tracing.current_xray_trace_id()
        if trace_id is None and amzn:
            root = tracing.parse_xray_root(amzn)
            trace_id = tracing.format_xray(root) if root else None
        client = scope.get("client")
        method, path = scope["method"], scope["path"]
        info = RequestInfo(request_id=request_id, method=method, path=path,
                           client_ip=client[0] if client else None, trace_id=trace_id,
                           state=scope.setdefault("state", {}))
        token = current_request.set(info)
        https = scope.get("scheme") == "https"
        docs = security.is_docs(path)
        request_id_header = (b"x-request-id", request_id.encode())
        status = 500
        sent = 0
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = security.response_headers(message.get("headers", []), docs=docs,
                                                    https=https)
                headers.append(request_id_header)
                message = {**message, "headers": headers}
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
            error_log.exception("unhandled error on %s %s", method, path)
            if started:
                raise
            await _internal_error(send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - start
            route = info.route = route_template(scope)
            _observe(method, route, status, elapsed)
            level = _level(status)
            if self.access_log_enabled and access_log.isEnabledFor(level):
                ms = round(elapsed * 1000, 2)
                # Made and handled here: ``Logger.log`` would walk the stack for a caller
                # that no formatter of ours prints.
                access_log.handle(access_log.makeRecord(
                    access_log.name, level, "", 0, _ACCESS_FORMAT, (method, path, status),
                    None, extra={"method": method, "path": path, "status": status,
                                 "api_endpoint": f"{method} {route}", "response_time": ms,
                                 "duration": ms, "bytes": sent, "client_ip": info.client_ip}))
            current_request.reset(token)


def _origin(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == proxy.ORIGIN_HEADER:
            return value
    return None


async def _internal_error(send: Send) -> None:
    body = json.dumps({"error": {"code": "internal_error",
                                 "message": "internal error; it has been logged"}}).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
