"""Rows as cacheable bytes and back, as detached (transient) model instances.

A restored instance has every column of the row and no session: it is for reading (rights
checks, serialisation), never for ``session.add``. Columns listed in ``exclude`` (password
hashes) are left out of the cache and come back as None.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, inspect

M = TypeVar("M")


_COLUMNS: dict[type, list[tuple[str, bool]]] = {}


def _columns(model: type) -> list[tuple[str, bool]]:
    """(attribute, is a timestamp) for each column of ``model``; computed once per class."""
    cols = _COLUMNS.get(model)
    if cols is None:
        cols = []
        for attr in inspect(model).column_attrs:
            column_type = attr.columns[0].type
            is_time = isinstance(column_type, DateTime) or isinstance(
                getattr(column_type, "impl", None), DateTime)
            cols.append((attr.key, is_time))
        _COLUMNS[model] = cols
    return cols


def encode(obj: Any, exclude: frozenset[str] = frozenset()) -> bytes:
    data = {}
    for key, is_time in _columns(type(obj)):
        if key in exclude:
            continue
        value = getattr(obj, key)
        data[key] = value.isoformat() if is_time and value is not None else value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def decode(model: type, raw: bytes | str | dict) -> dict[str, Any]:
    """The column values of a cached row (timestamps parsed), to build instances from."""
    data = json.loads(raw) if isinstance(raw, bytes | str) else dict(raw)
    values = {}
    for key, is_time in _columns(model):
        if key not in data:
            continue
        value = data[key]
        values[key] = datetime.fromisoformat(value) if is_time and value is not None else value
    return values


def restore(model: type[M], raw: bytes | dict) -> M:
    return model(**decode(model, raw))


def build(model: type[M], values: dict[str, Any]) -> M:
    """A transient ``model`` instance holding ``values`` (from :func:`decode`) as if loaded:
    no attribute events, no history — several times cheaper than the constructor, for
    per-request snapshots of cached rows."""
    obj = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(values)
    return obj
