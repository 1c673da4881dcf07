from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from openwan.kit.errors import PublicText


class RenditionOut(BaseModel):
    # preview (playable or viewable media) | hls | poster | thumbnail | sprite | sprite_index |
    # waveform | peaks | text (a document as UTF-8) | pdf (an office document) | legacy (FLV)
    kind: str
    name: str
    format: str
    content_type: str
    width: int | None = None
    height: int | None = None
    size: int
    url: str
    extra: dict[str, Any] = {}


class RenditionList(BaseModel):
    asset_id: int
    media_state: str
    media_error: PublicText = None
    items: list[RenditionOut]


class JobOut(BaseModel):
    id: int
    name: str
    asset_id: int | None
    state: str
    attempts: int
    stage: str | None
    progress: float
    error: PublicText
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Processing(BaseModel):
    asset_id: int
    media_state: str
    media_error: PublicText = None
    job: JobOut | None = None
