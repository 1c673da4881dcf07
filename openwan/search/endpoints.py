"""``GET /api/v1/search``: full text in Chinese and English, filters, facets, sorting."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from openwan.assets.schemas import AssetOut
from openwan.deps import CurrentUser, SessionDep, SettingsDep
from openwan.kit.errors import Unprocessable
from openwan.search import service
from openwan.search.schemas import SearchPage

router = APIRouter(prefix="/api/v1", tags=["search"])

KNOWN = {"q", "type", "category_id", "level", "status", "from", "to", "sort", "page", "size",
         "duration_min", "duration_max", "codec", "min_height"}


@router.get("/search", response_model=SearchPage)
def search(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
    type: Literal["video", "audio", "image", "document"] | None = None,
    category_id: int | None = None,
    level: Annotated[int | None, Query(ge=1, le=5)] = None,
    status: Literal["new", "pending", "published", "rejected", "deleted"] | None = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    duration_min: Annotated[float | None, Query(ge=0)] = None,
    duration_max: Annotated[float | None, Query(ge=0)] = None,
    codec: Annotated[str | None, Query(max_length=32)] = None,
    min_height: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    sort: Literal["relevance", "newest", "oldest", "title", "duration", "-duration"]
    = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 20,
) -> SearchPage:
    """Search what the caller may see. Words are ANDed, "quoted words" are a phrase,
    ``word*`` a prefix; Chinese matches any run of characters (two or more as written).

    Without ``status`` only published assets are searched; other states are found only by
    those the access rule lets see them. Catalogue fields filter as
    ``m.<group>.<field>=value`` (exact) or ``=low..high`` (numbers, dates).
    """
    field_filters = []
    for name, value in request.query_params.multi_items():
        if name.startswith(service.FIELD_PREFIX):
            group, dot, key = name[len(service.FIELD_PREFIX):].partition(".")
            if not dot or not group or not key:
                raise Unprocessable(f"{name}: catalogue filters are m.<group>.<field>",
                                    field=name)
            if len(value) > 200:
                raise Unprocessable(f"{name} is too long", field=name)
            field_filters.append(service.FieldFilter(group, key, value))
        elif name not in KNOWN:
            raise Unprocessable(f"unknown filter {name!r}", field=name)
    params = service.SearchParams(
        q=q, type=type, category_id=category_id, level=level, status=status,
        date_from=service.parse_date(from_, "from") if from_ else None,
        date_to=service.parse_date(to, "to", end=True) if to else None,
        duration_min=duration_min, duration_max=duration_max, codec=codec,
        min_height=min_height, fields=field_filters, sort=sort, page=page, size=size)
    result = service.search(session, user, params, window=settings.catalog.search_window)
    return SearchPage(total=result.total, total_exact=result.total_exact,
                      items=[AssetOut.model_validate(a) for a in result.items],
                      page=page, size=size, facets=result.facets,
                      category_names=result.category_names)
