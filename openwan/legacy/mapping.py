"""How the 2010 OpenWan's values translate into this one's (pure functions, no database)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from openwan.models import AssetStatus, AssetType

# ow_files.type: 1 video, 2 audio, 3 image, 4 rich media.
TYPES = {1: AssetType.video, 2: AssetType.audio, 3: AssetType.image, 4: AssetType.document}
# ow_files.status: 0 new, 1 awaiting review, 2 published, 3 sent back, 4 deleted.
STATUSES = {0: AssetStatus.new, 1: AssetStatus.pending, 2: AssetStatus.published,
            3: AssetStatus.rejected, 4: AssetStatus.deleted}
# The catalogue tree's type roots under 编目信息 (ow_catalog), by name.
CATALOG_ROOTS = {"视频编目": AssetType.video, "音频编目": AssetType.audio,
                 "图片编目": AssetType.image, "富媒体编目": AssetType.document}

# ow_permissions (controller, action) -> our permissions; () = no equivalent (reported).
# Menu pages and the user centre need no permission here: every signed-in user has them.
_ACL = ("AclManager", {
    ("Index", "User", "UserAdd", "UserEdit", "UserDel"): ("admin.users",),
    ("Group", "GroupView", "GroupBind"): ("admin.groups",),
    ("Role", "RoleView", "RoleBind", "Permission", "PermissionRefresh"): ("admin.roles",),
    ("Level", "LevelView"): ("admin.levels",),
})
_DICT = ("DictManager", {
    ("Category", "CategoryAdd", "CategoryEdit", "CategoryDel"): ("admin.categories",),
    ("Catalog", "CatalogAdd", "CatalogEdit", "CatalogDel"): ("admin.catalog",),
})
_FILES = {
    "FileCatalog": ("asset.catalog",),
    "FilePutOut": ("asset.review", "asset.delete"),
    "FileSearch": ("asset.download",),
    "FileUpload": ("asset.upload",),
}


def permissions_for(controller: str, action: str) -> tuple[str, ...]:
    """Our permission names for a legacy ``controller``/``action``; () when none matches."""
    for name, table in (_ACL, _DICT):
        if controller == name:
            for actions, granted in table.items():
                if action in actions:
                    return granted
            return ()
    return _FILES.get(controller, ())


def no_equivalent_reason(controller: str, action: str) -> str:
    if controller in ("Default", "UserCenter") or (controller, action) == ("DictManager",
                                                                            "Index"):
        return "a page every signed-in user may open; no permission needed"
    if (controller, action) == ("AclManager", "MakeAclFile"):
        return "the PHP ACL file is gone; rights are checked from the database"
    return "no matching permission"


def timestamp(value: Any) -> datetime | None:
    """A legacy Unix time (int seconds; 0 or NULL: none) as aware UTC."""
    if value in (None, "", 0, "0"):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def id_list(value: Any) -> list[int] | None:
    """``ow_files.groups``: None for ``all`` (or empty), else the ids of ``,1,5,``."""
    text = str(value or "").strip()
    if not text or text.lower() == "all":
        return None
    return sorted({int(part) for part in text.split(",") if part.strip().isdigit()})


def catalog_info(value: Any) -> dict[str, dict[str, str]]:
    """``ow_files.catalog_info``: ``{group: {field: value}}``. The PHP stored JSON, sometimes
    escaped once more (a JSON string holding JSON); anything else is empty."""
    data: Any = value
    for _ in range(3):
        if not isinstance(data, str):
            break
        text = data.strip()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            try:  # backslash-escaped quotes left in the text
                data = json.loads(text.replace('\\"', '"').replace("\\\\", "\\"))
            except ValueError:
                return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, dict[str, str]] = {}
    for group, fields in data.items():
        if isinstance(fields, dict):
            out[str(group)] = {str(k): "" if v is None else str(v) for k, v in fields.items()}
    return out


def field_value(kind: str, choices: list[str] | None, text: str) -> Any:
    """A legacy free-text value as a value of a field of ``kind``; None if it is not one."""
    if kind in ("text", "longtext"):
        return text
    if kind == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            return date.fromisoformat(text.replace("/", "-")[:10]).isoformat()
        except ValueError:
            return None
    if kind == "choice":
        return text if text in (choices or []) else None
    if kind == "multichoice":
        parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
        return parts if parts and all(p in (choices or []) for p in parts) else None
    return None


def parent_chain(rows: dict[int, dict[str, Any]], node_id: int) -> list[int]:
    """Ids from the root down to ``node_id`` by ``parent_id`` (the ``path`` column can be
    stale); stops at a missing parent or a cycle."""
    chain: list[int] = []
    seen: set[int] = set()
    current: int | None = node_id
    while current is not None and current in rows and current not in seen:
        seen.add(current)
        chain.append(current)
        parent = rows[current].get("parent_id")
        current = int(parent) if parent is not None and int(parent) > 0 else None
    return chain[::-1]


def file_relpath(path: Any, name: Any, ext: Any) -> str:
    """``data1\\<dir>\\`` + ``<md5>.<ext>`` as a lower-case ``/``-separated relative path."""
    folder = str(path or "").replace("\\", "/").strip("/")
    filename = f"{name}.{ext}" if ext else str(name)
    joined = f"{folder}/{filename}" if folder else filename
    return "/".join(part for part in joined.split("/") if part not in ("", ".")).lower()


def display_filename(title: str, ext: str) -> str:
    """The original name: the title with its extension (as the old UI showed it)."""
    title = (title or "").strip() or "file"
    ext = (ext or "").strip()
    if ext and not title.lower().endswith("." + ext.lower()):
        return f"{title}.{ext.lower()}"
    return title


def unique_name(name: str, taken: set[str], legacy_id: Any, limit: int = 64) -> str:
    """``name``, or ``name (legacy id)`` when already taken (compared case-insensitively)."""
    name = (name or "").strip()[:limit] or f"#{legacy_id}"
    candidate = name
    if candidate.lower() in taken:
        suffix = f" ({legacy_id})"
        candidate = name[:limit - len(suffix)] + suffix
        n = 2
        while candidate.lower() in taken:
            suffix = f" ({legacy_id}-{n})"
            candidate = name[:limit - len(suffix)] + suffix
            n += 1
    taken.add(candidate.lower())
    return candidate
