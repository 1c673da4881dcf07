"""Catalogue schemas (per media type: groups of typed fields) and metadata validation.

Schema edits never corrupt stored metadata: keys are immutable, so renames and disabling keep
values; a field with values cannot be deleted (409) unless archived (hidden, values kept); a
kind or choice-list change that would make stored values invalid is refused with a 409 naming
how many assets hold them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access import audit
from openwan.kit.errors import Conflict, NotFound, Unprocessable
from openwan.models import Asset, AssetType, CatalogField, CatalogValue, FieldKind, User
from openwan.search.tokens import fold

TEXT_MAX = 1000
LONGTEXT_MAX = 20_000
CHOICES_MAX = 500
KEY = re.compile(r"^[^.\s/\\][^./\\]{0,63}$")
# Kind changes that every stored value survives.
SAFE_KIND_CHANGES = {("text", "longtext"), ("longtext", "text"), ("choice", "multichoice"),
                     ("choice", "text"), ("choice", "longtext")}


def get(session: Session, field_id: int) -> CatalogField:
    node = session.get(CatalogField, field_id)
    if node is None:
        raise NotFound(f"catalogue field {field_id} not found")
    return node


def schema(session: Session, media_type: str | None = None, *,
           include_archived: bool = False) -> list[CatalogField]:
    query = select(CatalogField).order_by(CatalogField.media_type, CatalogField.parent_id,
                                          CatalogField.weight.desc(), CatalogField.id)
    if media_type:
        query = query.where(CatalogField.media_type == media_type)
    if not include_archived:
        query = query.where(CatalogField.archived.is_(False))
    return list(session.scalars(query))


def as_tree(nodes: list[CatalogField]) -> list[dict[str, Any]]:
    groups: dict[int, dict[str, Any]] = {}
    out = []
    for node in nodes:
        if node.kind == FieldKind.group:
            groups[node.id] = {**describe(node), "fields": []}
            out.append(groups[node.id])
    for node in nodes:
        if node.kind != FieldKind.group and node.parent_id in groups:
            groups[node.parent_id]["fields"].append(describe(node))
    return out


def describe(node: CatalogField) -> dict[str, Any]:
    return {"id": node.id, "media_type": node.media_type, "parent_id": node.parent_id,
            "group": node.group_key or None, "key": node.key, "kind": node.kind,
            "name_zh": node.name_zh, "name_en": node.name_en, "help_zh": node.help_zh,
            "help_en": node.help_en, "required": node.required, "choices": node.choices or [],
            "weight": node.weight, "enabled": node.enabled, "archived": node.archived}


def snapshot(node: CatalogField) -> dict[str, Any]:
    """What an audit entry records of a field or group, before and after a change."""
    return {k: v for k, v in describe(node).items() if k != "id"}


def _audit(session: Session, action: str, node_id: int, actor: User | None,
           detail: dict[str, Any]) -> None:
    audit.record(session, f"catalog_field.{action}", actor=actor,
                 target=("catalog_field", node_id), detail=detail)


def _check_choices(kind: str, choices: list[str] | None) -> list[str]:
    if kind not in (FieldKind.choice, FieldKind.multichoice):
        if choices:
            raise Unprocessable("only choice and multichoice fields have choices",
                                field="choices")
        return []
    clean = []
    for item in choices or []:
        item = str(item).strip()
        if not item or len(item) > 191:
            raise Unprocessable("each choice must be 1 to 191 characters", field="choices")
        if item not in clean:
            clean.append(item)
    if not clean or len(clean) > CHOICES_MAX:
        raise Unprocessable(f"a choice field needs 1 to {CHOICES_MAX} choices", field="choices")
    return clean


def create(session: Session, data: dict[str, Any], *, actor: User | None = None
           ) -> CatalogField:
    """Add a group (``kind='group'``, no parent) or a field (``parent_id`` = its group);
    audited as ``actor``."""
    media_type = data.get("media_type")
    if media_type not in set(AssetType):
        raise Unprocessable("media_type must be video, audio, image or document",
                            field="media_type")
    kind = data.get("kind") or FieldKind.text
    if kind not in set(FieldKind):
        raise Unprocessable(f"kind must be one of {', '.join(FieldKind)}", field="kind")
    name_zh = (data.get("name_zh") or "").strip()
    if not name_zh:
        raise Unprocessable("name_zh is required", field="name_zh")
    key = (data.get("key") or name_zh).strip()
    if not KEY.match(key):
        raise Unprocessable("key must be 1 to 64 characters without '.', '/' or spaces first",
                            field="key")
    parent_id = data.get("parent_id")
    group_key = ""
    if kind == FieldKind.group:
        if parent_id is not None:
            raise Unprocessable("a group has no parent", field="parent_id")
    else:
        parent = session.get(CatalogField, parent_id) if parent_id is not None else None
        if parent is None or parent.kind != FieldKind.group or parent.media_type != media_type:
            raise Unprocessable(f"parent_id must be a {media_type} field group",
                                field="parent_id")
        group_key = parent.key
    exists = session.scalar(select(CatalogField.id).where(
        CatalogField.media_type == media_type, CatalogField.group_key == group_key,
        CatalogField.key == key))
    if exists is not None:
        raise Conflict(f"{media_type} already has {'group' if not group_key else 'field'} "
                       f"{key!r}" + (f" in {group_key!r}" if group_key else ""), field="key")
    node = CatalogField(
        media_type=media_type, parent_id=parent_id if kind != FieldKind.group else None,
        group_key=group_key, key=key, kind=kind, name_zh=name_zh,
        name_en=(data.get("name_en") or "").strip(), help_zh=data.get("help_zh") or "",
        help_en=data.get("help_en") or "", required=bool(data.get("required")),
        choices=_check_choices(kind, data.get("choices")), weight=data.get("weight") or 0,
        enabled=data.get("enabled", True) is not False, archived=False)
    session.add(node)
    session.flush()
    _audit(session, "create", node.id, actor, {"after": snapshot(node)})
    return node


def assets_with_values(session: Session, node: CatalogField) -> int:
    """How many assets of the node's media type hold a value in it (or, for a group, in it)."""
    query = (select(func.count(func.distinct(CatalogValue.asset_id)))
             .join(Asset, Asset.id == CatalogValue.asset_id)
             .where(Asset.type == node.media_type))
    if node.kind == FieldKind.group:
        query = query.where(CatalogValue.group_key == node.key)
    else:
        query = query.where(CatalogValue.group_key == node.group_key,
                            CatalogValue.field_key == node.key)
    return session.scalar(query) or 0


def change(session: Session, node: CatalogField, data: dict[str, Any], *,
           actor: User | None = None) -> CatalogField:
    """Rename, re-describe, re-order, enable/disable, re-type or re-list a node safely
    (audited, before and after)."""
    before = snapshot(node)
    if "key" in data and data["key"] != node.key:
        raise Unprocessable("a key never changes (stored metadata uses it); rename with "
                            "name_zh / name_en", field="key")
    if "media_type" in data and data["media_type"] != node.media_type:
        raise Unprocessable("media_type cannot change", field="media_type")
    if data.get("archived") is False and node.archived:
        node.archived = False
    kind = data.get("kind") or node.kind
    if kind not in set(FieldKind) or (kind == FieldKind.group) != (node.kind == FieldKind.group):
        raise Unprocessable("kind must be a field kind (a group stays a group)", field="kind")
    if kind != node.kind and (node.kind, kind) not in SAFE_KIND_CHANGES:
        held = assets_with_values(session, node)
        if held:
            raise Conflict(f"{held} assets hold values in {node.group_key}.{node.key}; "
                           f"changing it from {node.kind} to {kind} would invalidate them",
                           code="schema_conflict", assets=held)
    choices = data.get("choices", node.choices if kind == node.kind else None)
    if kind in (FieldKind.choice, FieldKind.multichoice):
        choices = _check_choices(kind, choices)
        removed = {fold(c) for c in (node.choices or [])} - {fold(c) for c in choices}
        if removed and node.kind in (FieldKind.choice, FieldKind.multichoice):
            held = session.scalar(
                select(func.count(func.distinct(CatalogValue.asset_id)))
                .join(Asset, Asset.id == CatalogValue.asset_id)
                .where(Asset.type == node.media_type, CatalogValue.group_key == node.group_key,
                       CatalogValue.field_key == node.key, CatalogValue.value.in_(removed)))
            if held:
                raise Conflict(f"{held} assets use choices being removed from "
                               f"{node.group_key}.{node.key}", code="schema_conflict",
                               assets=held)
        elif node.kind not in (FieldKind.choice, FieldKind.multichoice):
            held_values = set(session.scalars(
                select(CatalogValue.value).join(Asset, Asset.id == CatalogValue.asset_id)
                .where(Asset.type == node.media_type, CatalogValue.group_key == node.group_key,
                       CatalogValue.field_key == node.key).distinct().limit(1000)))
            outside = held_values - {fold(c) for c in choices}
            if outside:
                raise Conflict(f"stored values of {node.group_key}.{node.key} are not among "
                               f"the choices (e.g. {sorted(outside)[0]!r})",
                               code="schema_conflict")
    else:
        choices = _check_choices(kind, data.get("choices"))
    node.kind = kind
    node.choices = choices
    for name in ("name_zh", "name_en", "help_zh", "help_en"):
        if data.get(name) is not None:
            value = str(data[name]).strip()
            if name == "name_zh" and not value:
                raise Unprocessable("name_zh cannot be empty", field="name_zh")
            setattr(node, name, value)
    for name in ("required", "enabled"):
        if data.get(name) is not None:
            setattr(node, name, bool(data[name]))
    if data.get("weight") is not None:
        node.weight = int(data["weight"])
    session.flush()
    detail = audit.changes(before, snapshot(node))
    if detail["after"]:
        _audit(session, "update", node.id, actor, detail)
    return node


def delete(session: Session, node: CatalogField, *, archive: bool = False,
           actor: User | None = None) -> bool:
    """Delete an unused node; with values only ``archive`` hides it (values are kept).

    Returns True when the node was archived rather than deleted. Audited either way.
    """
    before = snapshot(node)
    if node.kind == FieldKind.group:
        children = session.scalar(select(func.count()).where(CatalogField.parent_id == node.id))
        if children and not archive:
            raise Conflict(f"group {node.key!r} still has {children} fields; delete them first",
                           code="not_empty")
    held = assets_with_values(session, node)
    if held:
        if not archive:
            raise Conflict(f"{held} assets hold values in {node.key!r}; disable it, or "
                           "delete with archive=true to hide it and keep the values",
                           code="schema_conflict", assets=held)
        node.archived = True
        node.enabled = False
        if node.kind == FieldKind.group:
            for child in session.scalars(select(CatalogField)
                                         .where(CatalogField.parent_id == node.id)):
                child.archived, child.enabled = True, False
        session.flush()
        _audit(session, "archive", node.id, actor, {**audit.changes(before, snapshot(node)),
                                                    "assets": held})
        return True
    node_id = node.id
    detail: dict[str, Any] = {"before": before}
    if node.kind == FieldKind.group:
        # Its unused fields go with it (archive=true on a group without values).
        gone = list(session.scalars(select(CatalogField.key)
                                    .where(CatalogField.parent_id == node.id)))
        if gone:
            detail["fields"] = sorted(gone)
    session.delete(node)
    session.flush()
    _audit(session, "delete", node_id, actor, detail)
    return False


# --- metadata validation ----------------------------------------------------------------

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _clean_value(node: CatalogField, value: Any, where: str) -> Any:
    kind = node.kind
    if kind in (FieldKind.text, FieldKind.longtext):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Unprocessable(f"{where} must be text", field=where)
        value = str(value).strip()
        limit = TEXT_MAX if kind == FieldKind.text else LONGTEXT_MAX
        if len(value) > limit:
            raise Unprocessable(f"{where} is longer than {limit} characters", field=where)
        return value
    if kind == FieldKind.number:
        if isinstance(value, bool):
            raise Unprocessable(f"{where} must be a number", field=where)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError as exc:
                raise Unprocessable(f"{where} must be a number", field=where) from exc
        if not isinstance(value, int | float) or value != value or value in (
                float("inf"), float("-inf")):
            raise Unprocessable(f"{where} must be a number", field=where)
        return int(value) if float(value).is_integer() else float(value)
    if kind == FieldKind.date:
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            raise Unprocessable(f"{where} must be a date: YYYY, YYYY-MM or YYYY-MM-DD",
                                field=where)
        value = value.strip()
        parts = [int(p) for p in value.split("-")]
        try:
            date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
        except ValueError as exc:
            raise Unprocessable(f"{where} is not a real date", field=where) from exc
        return value
    choices = node.choices or []
    if kind == FieldKind.choice:
        if not isinstance(value, str) or value.strip() not in choices:
            raise Unprocessable(f"{where} must be one of: {', '.join(choices)}", field=where)
        return value.strip()
    items = value if isinstance(value, list) else [value]
    clean: list[str] = []
    for item in items:
        if not isinstance(item, str) or item.strip() not in choices:
            raise Unprocessable(f"{where} values must be among: {', '.join(choices)}",
                                field=where)
        if item.strip() not in clean:
            clean.append(item.strip())
    return clean


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def validate(session: Session, media_type: str, incoming: dict[str, Any],
             current: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``incoming`` ({group: {field: value}}, null removes) into ``current``, checked.

    Raises 422 naming the first offending ``metadata.<group>.<field>``: a value of the wrong
    type or outside the field's choices, an unknown field, or emptying a required field.
    Values of fields the schema no longer offers (disabled, archived, or legacy keys) are kept
    untouched, but may not be changed.
    """
    nodes = {(n.group_key, n.key): n for n in schema(session, media_type,
                                                     include_archived=True)}
    merged: dict[str, Any] = {g: dict(f) if isinstance(f, dict) else f
                              for g, f in (current or {}).items()}
    if not isinstance(incoming, dict):
        raise Unprocessable("metadata must be an object of groups", field="metadata")
    for group, fields in incoming.items():
        where = f"metadata.{group}"
        group_node = nodes.get(("", group))
        if group_node is None:
            raise Unprocessable(f"{where}: no such {media_type} field group", field=where)
        if fields is None:
            fields = {k: None for k in (merged.get(group) or {})}
        if not isinstance(fields, dict):
            raise Unprocessable(f"{where} must be an object of fields", field=where)
        target = merged.setdefault(group, {})
        if not isinstance(target, dict):
            target = merged[group] = {}
        for key, value in fields.items():
            where = f"metadata.{group}.{key}"
            node = nodes.get((group, key))
            if node is None:
                raise Unprocessable(f"{where}: no such field", field=where)
            new = None if _empty(value) else _clean_value(node, value, where)
            usable = (node.enabled and not node.archived and group_node.enabled
                      and not group_node.archived)
            if new is None and usable and node.required:
                raise Unprocessable(f"{where} is required", field=where)
            if not usable and new != target.get(key):
                raise Unprocessable(f"{where}: the field is disabled", field=where)
            if new is None:
                target.pop(key, None)
            else:
                target[key] = new
        if not target:
            merged.pop(group, None)
    return merged


def missing_required(session: Session, media_type: str, metadata: dict[str, Any] | None,
                     ) -> list[str]:
    """``<group>.<field>`` of every enabled required field without a value.

    Saving work in progress never fails for a field not filled in yet (a required field can
    only not be emptied); this is what a submit for review can check.
    """
    nodes = schema(session, media_type)
    groups = {n.key: n for n in nodes if n.kind == FieldKind.group}
    missing = []
    for node in nodes:
        group = groups.get(node.group_key)
        if (node.kind == FieldKind.group or not node.required or not node.enabled
                or group is None or not group.enabled):
            continue
        if _empty(((metadata or {}).get(node.group_key) or {}).get(node.key)):
            missing.append(f"{node.group_key}.{node.key}")
    return missing
