from __future__ import annotations

from pydantic import BaseModel

from openwan.assets.schemas import AssetOut


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
