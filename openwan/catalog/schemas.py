from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openwan.kit.ids import Id

Kind = Literal["group", "text", "longtext", "number", "date", "choice", "multichoice"]
MediaType = Literal["video", "audio", "image", "document"]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    parent_id: Id | None = None
    weight: int = Field(0, ge=-1_000_000, le=1_000_000)
    enabled: bool = True


class CategoryPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    parent_id: Id | None = None
    weight: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    enabled: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    name: str
    path: str
    weight: int
    enabled: bool


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_type: MediaType
    kind: Kind = "text"
    parent_id: Id | None = None
    key: str | None = Field(None, min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field("", max_length=128)
    help_zh: str = Field("", max_length=512)
    help_en: str = Field("", max_length=512)
    required: bool = False
    choices: list[str] = Field(default_factory=list, max_length=500)
    weight: int = Field(0, ge=-1_000_000, le=1_000_000)
    enabled: bool = True


class FieldPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = None
    media_type: MediaType | None = None
    kind: Kind | None = None
    name_zh: str | None = Field(None, min_length=1, max_length=128)
    name_en: str | None = Field(None, max_length=128)
    help_zh: str | None = Field(None, max_length=512)
    help_en: str | None = Field(None, max_length=512)
    required: bool | None = None
    choices: list[str] | None = Field(None, max_length=500)
    weight: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    enabled: bool | None = None
    archived: Literal[False] | None = None


class FieldOut(BaseModel):
    id: int
    media_type: str
    parent_id: int | None
    group: str | None
    key: str
    kind: str
    name_zh: str
    name_en: str
    help_zh: str
    help_en: str
    required: bool
    choices: list[str]
    weight: int
    enabled: bool
    archived: bool
    fields: list[dict[str, Any]] | None = None


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["submit", "approve", "reject", "delete", "restore"]
    ids: list[Id] = Field(min_length=1, max_length=500)
    level: int | None = Field(None, ge=1, le=5)
    groups: Literal["all"] | list[Id] | None = None
    download: bool | None = None
    comment: str | None = Field(None, max_length=2000)
