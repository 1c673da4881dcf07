from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, computed_field

from openwan.kit.errors import PublicText
from openwan.kit.ids import Id

# An asset id in a route: one the databases can hold (a larger one is a 422, not a
# database error).
AssetId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    title: str
    filename: str
    extension: str
    size: int
    sha256: str
    mime_type: str
    status: str
    media_state: str
    media_error: PublicText = None
    level: int
    groups: Literal["all"] | list[int]
    download: bool
    category_id: int | None
    metadata: dict[str, dict[str, Any]] = Field(validation_alias="catalog")
    technical: dict[str, Any]
    uploaded_by: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    review_comment: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thumbnail_url(self) -> str | None:
        """The asset's picture for a result grid (poster, image thumbnail, first page,
        waveform), from its media state alone: a listing needs no query per item."""
        if self.media_state != "ready" or self.technical.get("no_preview") \
                or self.technical.get("format") == "text":
            return None
        return f"/api/v1/assets/{self.id}/thumbnail"


MediaType = Literal["video", "audio", "image", "document"]
Status = Literal["new", "pending", "published", "rejected", "deleted"]
MAX_PAGE_SIZE = 200


class ListQuery(BaseModel):
    """The filters and page of ``GET /api/v1/assets`` (unknown parameters are ignored)."""

    type: MediaType | None = None
    status: Status | None = None
    media_state: Literal["queued", "processing", "ready", "failed"] | None = None
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class AssetPage(BaseModel):
    total: int
    items: list[AssetOut]
    page: int
    size: int


class AssetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=512)
    category_id: Id | None = None
    metadata: dict[str, dict[str, Any]] | None = None
