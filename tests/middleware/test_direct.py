"""Direct dispatch of the asset detail: the same answers as through FastAPI, and routes that
FastAPI has work for are refused at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from openwan.middleware.direct import DirectRoutesMiddleware, direct, direct_routes
from tests.media import png_bytes


def test_detail_answers_as_through_fastapi(client, auth):
    headers = auth
    created = client.post("/api/v1/assets", headers=headers,
                          files={"file": ("a.png", png_bytes(), "image/png")})
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]
    found = client.get(f"/api/v1/assets/{asset_id}", headers=headers)
    assert found.status_code == 200 and found.json()["id"] == asset_id
    assert found.headers["x-content-type-options"] == "nosniff" and found.headers["x-request-id"]
    assert "default-src 'none'" in found.headers["content-security-policy"]
    # The signed int forms FastAPI takes; errors rendered by the app's handlers.
    assert client.get(f"/api/v1/assets/+{asset_id}", headers=headers).status_code == 200
    missing = client.get("/api/v1/assets/999999", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    anonymous = client.get(f"/api/v1/assets/{asset_id}")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    # What does not convert goes to FastAPI, which validates it.
    for odd in ("abc", "1.5", "١٢", "0", "9" * 30):
        response = client.get(f"/api/v1/assets/{odd}", headers=headers)
        assert response.status_code == 422, (odd, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    # Other methods on the same path are FastAPI's as before.
    assert client.patch(f"/api/v1/assets/{asset_id}", headers=headers,
                        json={"title": "renamed"}).json()["title"] == "renamed"
    assert client.get(f"/api/v1/assets/{asset_id}", headers=headers).json()["title"] == "renamed"


def _app_with(endpoint_router: APIRouter) -> TestClient:
    app = FastAPI()
    app.add_middleware(DirectRoutesMiddleware, routes=direct_routes([endpoint_router]),
                       handlers=app.exception_handlers)
    app.include_router(endpoint_router)
    return TestClient(app)


async def _who(request: Request) -> str:
    return "someone"


@pytest.mark.parametrize("kind", ["dependency", "query", "sync", "not a response", "post"])
def test_routes_fastapi_has_work_for_are_refused(kind):
    router = APIRouter()
    if kind == "dependency":
        @router.get("/x/{n}")
        @direct
        async def with_dependency(n: int, request: Request,
                                  who: Annotated[str, Depends(_who)]) -> Response:
            return Response(who)
    elif kind == "query":
        @router.get("/x/{n}")
        @direct
        async def with_query(n: int, request: Request,
                             q: Annotated[str, Query()] = "") -> Response:
            return Response(q)
    elif kind == "sync":
        @router.get("/x/{n}")
        @direct
        def sync(n: int, request: Request) -> Response:
            return Response("x")
    elif kind == "not a response":
        @router.get("/x/{n}")
        @direct
        async def model(n: int, request: Request) -> dict:
            return {"n": n}
    else:
        @router.post("/x/{n}")
        @direct
        async def post(n: int, request: Request) -> Response:
            return Response("x")
    with pytest.raises(TypeError, match="cannot be dispatched directly"), _app_with(router):
        pass


class _Page(BaseModel):
    page: int = Field(1, ge=1)
    kind: Literal["a", "b"] | None = None


def test_a_query_parameter_model_is_validated_like_fastapi_does():
    router = APIRouter()
    calls: list[str] = []

    @router.get("/x/{n}")
    @direct
    async def paged(n: int, request: Request, query: Annotated[_Page, Query()]) -> Response:
        calls.append("called")
        return Response(f"{n}:{query.page}:{query.kind}")

    with _app_with(router) as client:
        assert client.get("/x/3", params={"page": 2, "kind": "b"}).text == "3:2:b"
        assert client.get("/x/3", params={"other": "ignored"}).text == "3:1:None"
        # What the model refuses goes to FastAPI: its 422, the endpoint never called.
        calls.clear()
        for bad in ({"page": 0}, {"page": "x"}, {"kind": "c"}):
            response = client.get("/x/3", params=bad)
            assert response.status_code == 422 and "query" in response.text, bad
        assert calls == []
    # Two query parameters, or a model beside a plain one, are FastAPI's work.
    router = APIRouter()

    @router.get("/y")
    @direct
    async def two(request: Request, query: Annotated[_Page, Query()],
                  q: Annotated[str, Query()] = "") -> Response:
        return Response(q)

    with pytest.raises(TypeError, match="cannot be dispatched directly"), _app_with(router):
        pass
