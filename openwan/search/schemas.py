from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from openwan.assets.schemas import AssetOut, MediaType, Status
from openwan.search.service import MAX_PAGE_SIZE, MAX_QUERY_CHARS

Sort = Literal["relevance", "newest", "oldest", "title", "duration", "-duration"]


class SearchQuery(BaseModel):
    """The query string of ``GET /api/v1/search``. Catalogue filters (``m.<group>.<field>``)
    are read beside it; any other name is refused (422)."""

    model_config = ConfigDict(populate_by_name=True)

    q: str = Field("", max_length=MAX_QUERY_CHARS)
    type: MediaType | None = None
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    level: int | None = Field(None, ge=1, le=5)
    status: Status | None = None
    from_: str | None = Field(None, alias="from", max_length=40)
    to: str | None = Field(None, max_length=40)
    duration_min: float | None = Field(None, ge=0)
    duration_max: float | None = Field(None, ge=0)
    codec: str | None = Field(None, max_length=32)
    min_height: int | None = Field(None, ge=0, le=100_000)
    sort: Sort = "relevance"
    page: int = Field(1, ge=1, le=10_000)
    size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class SearchPage(BaseModel):
    total: int
    # False when more than the search window matched: ``total`` is then a lower bound.
    total_exact: bool
    items: list[AssetOut]
    page: int
    size: int
    # {"type"|"category"|"level"|"year": {value: count}}, over the candidate window.
    facets: dict[str, dict[str, int]]
    # The names of the categories counted in ``facets["category"]`` (id → name).
    category_names: dict[str, str] = {}
