"""Direct dispatch for the hottest reads (the asset detail), innermost of the middleware.

FastAPI's routing and dependency solving cost about as much as a cached read itself. A route
marked with :func:`direct` stays declared on the app as usual (OpenAPI, docs, and the path
for anything unusual); this layer matches it first, with the route's own pattern, converts
its path parameters, calls the endpoint and renders errors with the app's exception handlers.

Only a route FastAPI has nothing to do for may be marked: ``GET``, an ``async`` endpoint
taking the request, ``int`` (optionally with ``ge``/``le`` bounds) or ``str`` path parameters
and at most one query parameter model (``Annotated[Model, Query()]``), returning a ready
``Response``; no dependencies, no other query, header, cookie or body parameters. Anything
else is refused at start-up, so a dependency added later can never be skipped. A path
parameter that does not convert, or a query the model refuses, goes to FastAPI (which
validates it again and answers 422 in its own words).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterable
from typing import Any

import annotated_types
from fastapi import params as fastapi_params
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

_MARK = "openwan_direct"
# What FastAPI (pydantic, lax) takes as an int path parameter, within 64 bits; anything else
# goes to FastAPI for its own answer.
_INT = re.compile(r"[+-]?[0-9]{1,18}")


def direct(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint for direct dispatch (see the module's docstring)."""
    setattr(endpoint, _MARK, True)
    return endpoint


def _param(field: Any) -> tuple[type, int | None, int | None] | None:
    """(type, lowest, highest) of a path parameter, None when this layer cannot check it."""
    kind = field.field_info.annotation
    low = high = None
    for rule in field.field_info.metadata:
        if kind is int and isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif kind is int and isinstance(rule, annotated_types.Le):
            high = rule.le
        else:
            return None
    return (kind, low, high) if kind in (int, str) else None


def _query_model(fields: list[Any]) -> tuple[str, type[BaseModel]] | None:
    """(name, model) when ``fields`` is exactly one query parameter model, else None."""
    if len(fields) != 1:
        return None
    field = fields[0]
    model = field.field_info.annotation
    if not (isinstance(field.field_info, fastapi_params.Query) and isinstance(model, type)
            and issubclass(model, BaseModel)):
        return None
    return field.name, model


class _Target:
    __slots__ = ("route", "regex", "endpoint", "request_name", "params", "query")

    def __init__(self, route: APIRoute) -> None:
        dependant = route.dependant
        name = f"{route.path} ({route.endpoint.__qualname__})"
        hints = typing.get_type_hints(route.endpoint)
        params = {p.name: _param(p) for p in dependant.path_params}
        query = _query_model(dependant.query_params)
        problems = [
            what for what, bad in (
                ("only GET", route.methods != {"GET"}),
                ("an async endpoint", not inspect.iscoroutinefunction(route.endpoint)),
                ("the request as a parameter", not dependant.request_param_name),
                ("no dependencies", bool(dependant.dependencies)),
                ("at most one query parameter model and no header, cookie or body parameters",
                 bool(dependant.query_params and query is None or dependant.header_params
                      or dependant.cookie_params or dependant.body_params)),
                ("int (ge, le) or str path parameters", None in params.values()),
                ("a Response returned", not (isinstance(hints.get("return"), type)
                                             and issubclass(hints["return"], Response))),
            ) if bad]
        if problems:
            raise TypeError(f"{name} cannot be dispatched directly: it needs "
                            + ", ".join(problems))
        self.route = route
        self.regex = route.path_regex
        self.endpoint = route.endpoint
        self.request_name = dependant.request_param_name
        self.params = params
        self.query = query


def direct_routes(routers: Iterable[Any]) -> list[APIRoute]:
    """The marked routes of ``routers`` (included on the app without extra dependencies)."""
    return [route for router in routers for route in router.routes
            if isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, False)]


class DirectRoutesMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Iterable[APIRoute],
                 handlers: dict[Any, Callable[..., Any]]) -> None:
        self.app = app
        self.targets = [_Target(route) for route in routes]
        # The app's exception handlers (shared: handlers added later count too).
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            for target in self.targets:
                match = target.regex.match(scope["path"])
                if match is not None:
                    values = _convert(target, match.groupdict())
                    if values is not None:
                        await self._call(target, values, scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)

    async def _call(self, target: _Target, values: dict[str, Any], scope: Scope,
                    receive: Receive, send: Send) -> None:
        # What Starlette's router notes in the scope: logs and metrics read the template.
        scope["route"] = target.route
        scope["endpoint"] = target.endpoint
        scope["path_params"] = values
        request = Request(scope, receive)
        if target.query is not None:
            name, model = target.query
            try:
                values = {**values, name: model.model_validate(dict(request.query_params))}
            except ValidationError:
                await self.app(scope, receive, send)
                return
        try:
            response = await target.endpoint(**values, **{target.request_name: request})
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        """Starlette's choice: the status code's handler for HTTP errors, else the nearest
        class's; unexpected errors (``Exception`` itself) go on to the edge."""
        if isinstance(exc, HTTPException) and exc.status_code in self.handlers:
            return self.handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in self.handlers:
                return self.handlers[cls]
        return None


def _convert(target: _Target, raw: dict[str, str]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for name, (kind, low, high) in target.params.items():
        text = raw[name]
        if kind is int:
            if _INT.fullmatch(text) is None:
                return None
            number = int(text)
            if (low is not None and number < low) or (high is not None and number > high):
                return None
            values[name] = number
        else:
            values[name] = text
    return values
