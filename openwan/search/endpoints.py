"""``GET /api/v1/search``: full text in Chinese and English, filters, facets, sorting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from openwan.deps import cached_current_user
from openwan.kit.errors import Unprocessable
from openwan.middleware.direct import direct
from openwan.search import service
from openwan.search.schemas import SearchPage, SearchQuery

router = APIRouter(prefix="/api/v1", tags=["search"])

KNOWN = frozenset(field.alias or name for name, field in SearchQuery.model_fields.items())


@router.get("/search", response_model=SearchPage)
@direct
async def search(request: Request, query: Annotated[SearchQuery, Query()]) -> Response:
    """Search what the caller may see. Words are ANDed, "quoted words" are a phrase,
    ``word*`` a prefix; Chinese matches any run of characters (two or more as written).

    Without ``status`` only published assets are searched; other states are found only by
    those the access rule lets see them. Catalogue fields filter as
    ``m.<group>.<field>=value`` (exact) or ``=low..high`` (numbers, dates).
    """
    # The caller first: an anonymous request is a 401 whatever its query says.
    user = await cached_current_user(request)
    params = service.SearchParams(
        q=query.q, type=query.type, category_id=query.category_id, level=query.level,
        status=query.status,
        date_from=service.parse_date(query.from_, "from") if query.from_ else None,
        date_to=service.parse_date(query.to, "to", end=True) if query.to else None,
        duration_min=query.duration_min, duration_max=query.duration_max, codec=query.codec,
        min_height=query.min_height, fields=_field_filters(request), sort=query.sort,
        page=query.page, size=query.size)
    body = await service.search_json(request.app.state.settings, user, params)
    return Response(body, media_type="application/json")


def _field_filters(request: Request) -> list[service.FieldFilter]:
    """The catalogue filters of the query string; 422 for a name that is neither one of
    them nor a parameter of the route."""
    filters = []
    for name, value in request.query_params.multi_items():
        if name.startswith(service.FIELD_PREFIX):
            group, dot, key = name[len(service.FIELD_PREFIX):].partition(".")
            if not dot or not group or not key:
                raise Unprocessable(f"{name}: catalogue filters are m.<group>.<field>",
                                    field=name)
            if len(value) > 200:
                raise Unprocessable(f"{name} is too long", field=name)
            filters.append(service.FieldFilter(group, key, value))
        elif name not in KNOWN:
            raise Unprocessable(f"unknown filter {name!r}", field=name)
    return filters
