from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from openwan.assets.schemas import AssetOut


class SearchPage(BaseModel):
    total: int
    # False when more than the search window matched: ``total`` is then a lower bound.
    total_exact: bool
    items: list[AssetOut]
    page: int
    size: int
    facets: dict[str, list[dict[str, Any]]]
