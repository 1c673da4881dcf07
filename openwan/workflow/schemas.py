from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from openwan.kit.ids import Id


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int | None = Field(None, ge=1, le=1000)
    groups: Literal["all"] | list[Id] | None = Field(None, max_length=1000)
    download: bool | None = None


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=2000)
