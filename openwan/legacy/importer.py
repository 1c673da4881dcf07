"""Importing a 2010 OpenWan installation (its ``ow_*`` tables and its ``data<N>`` folders).

Every legacy row is recorded in ``legacy_ids`` with what it became, in the transaction that
wrote it; rows already recorded are skipped. So a second run changes nothing, and a run
stopped half way (Ctrl-C, a crash) is resumed by running it again: each stage commits as
it ends, and files commit in batches. A file row whose bytes were missing is imported
(marked) all the same, and given its bytes by a later run that finds them.

Legacy facts with no column here stay in ``legacy_ids.detail``; the history of each file
(uploaded, catalogued, published: who and when) becomes audit entries at the legacy times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.db import session_factory
from openwan.legacy import mapping
from openwan.legacy.files import FileIndex, FileStage, Stored
from openwan.legacy.report import Report
from openwan.legacy.rights import RightsStage
from openwan.models import Asset, CatalogField, Category, FieldKind, LegacyId, Level, utcnow
from openwan.storage import get_storage

log = logging.getLogger("openwan.legacy")

__all__ = ["FileIndex", "Importer", "Stored"]


class Importer(RightsStage, FileStage):
    """One run of ``openwan import-legacy`` over ``tables`` (see ``openwan.legacy.dump``)."""

    def __init__(self, settings: Settings, tables: dict[str, list[dict[str, Any]]], *,
                 files: Path | None = None, dry_run: bool = False, batch: int = 200,
                 report: Report | None = None, workers: int = 4,
                 progress: Callable[[str, int], None] | None = None) -> None:
        self.settings = settings
        self.tables = tables
        self.files = FileIndex(files) if files is not None else None
        self.dry_run = dry_run
        self.batch = batch
        self.workers = workers
        self.report = report or Report()
        self.report.dry_run = dry_run
        self.progress = progress
        self.storage = get_storage(settings)
        self.session: Session = session_factory(settings)()
        self.ids: dict[str, dict[str, LegacyId]] = {}
        # Originals written whose rows are not committed yet (removed if the run fails).
        self._uncommitted: set[str] = set()
        self._lock = threading.Lock()
        self._written: list[tuple[Asset, Any, list, dict[str, Any]]] = []

    # The run ---------------------------------------------------------------------------------

    def run(self) -> Report:
        started = time.monotonic()
        try:
            for stage in (self.levels, self.categories, self.catalog, self.permissions,
                          self.roles, self.groups, self.users, self.files_):
                stage()
                self._checkpoint()
        except BaseException as exc:
            self.session.rollback()
            self._forget_stored()
            self.report.interrupted = f"{type(exc).__name__}: {exc}" if str(exc) else (
                type(exc).__name__)
            raise
        finally:
            if self.dry_run:
                self.session.rollback()
            self.session.close()
            self.report.seconds = time.monotonic() - started
        return self.report

    def _checkpoint(self) -> None:
        """End of a stage or batch: commit (a dry run only flushes, and rolls back at the end)."""
        if self.dry_run:
            self.session.flush()
        else:
            self.session.commit()

    def _forget_stored(self) -> None:
        # Originals written for a batch that was not committed would be orphans.
        for key in sorted(self._uncommitted):
            try:
                self.storage.delete(key)
            except Exception:  # the run is failing already; say so and go on
                log.exception("could not remove %s after an interrupted batch", key)
        self._uncommitted = set()

    def _known(self, kind: str) -> dict[str, LegacyId]:
        if kind not in self.ids:
            self.ids[kind] = {row.legacy_id: row for row in self.session.scalars(
                select(LegacyId).where(LegacyId.kind == kind))}
        return self.ids[kind]

    def _record(self, kind: str, legacy_id: Any, new_id: int | None,
                **detail: Any) -> LegacyId:
        row = LegacyId(kind=kind, legacy_id=str(legacy_id), new_id=new_id,
                       detail={k: v for k, v in detail.items() if v not in (None, "", {})})
        self.session.add(row)
        self._known(kind)[row.legacy_id] = row
        return row

    def _new_id(self, kind: str, legacy_id: Any) -> int | None:
        row = self._known(kind).get(str(legacy_id))
        return row.new_id if row is not None else None

    def _rows(self, table: str) -> list[dict[str, Any]]:
        rows = self.tables.get(table) or []
        self.report.count(table, "read", len(rows))
        return rows

    # Levels ----------------------------------------------------------------------------------

    def levels(self) -> None:
        """Levels keep their weight as the clearance number (our level id)."""
        known = self._known("level")
        for row in self._rows("ow_levels"):
            if str(row["id"]) in known:
                self.report.count("ow_levels", "already")
                continue
            weight = int(row.get("weight") or row["id"])
            level = self.session.get(Level, weight)
            values = {"name": str(row["name"])[:64],
                      "description": str(row.get("description") or "")[:500],
                      "enabled": bool(row.get("enabled", 1))}
            if level is None:
                self.session.add(Level(id=weight, **values))
                self.report.count("ow_levels", "imported")
            else:
                for key, value in values.items():
                    setattr(level, key, value)
                self.report.count("ow_levels", "merged")
            self._record("level", row["id"], weight)
        self.session.flush()

    def _clearance(self, legacy_level: Any) -> int | None:
        return self._new_id("level", legacy_level)

    # Categories ------------------------------------------------------------------------------

    def categories(self) -> None:
        """The tree by ``parent_id`` (the stored ``path`` strings may be stale); the legacy
        root (资源分类) is the tree itself, so its children become our top level."""
        table = "ow_category"
        rows = {int(r["id"]): r for r in self._rows(table)}
        known = self._known("category")
        ordered = sorted(rows, key=lambda i: (len(mapping.parent_chain(rows, i)), i))
        siblings: dict[int | None, dict[str, int]] = {}
        imported = {r.new_id for r in known.values() if r.new_id is not None
                    and not r.detail.get("existing")}
        for legacy_id in ordered:
            row = rows[legacy_id]
            if str(legacy_id) in known:
                self.report.count(table, "already")
                continue
            parent = int(row.get("parent_id") or -1)
            if parent <= 0:
                self._record("category", legacy_id, None, root=True, name=row["name"])
                self.report.count(table, "merged")
                self.report.note(table, legacy_id, f"the root {row['name']!r} is the tree "
                                 "itself: its children become top-level categories")
                continue
            parent_row = known.get(str(parent))
            if parent_row is None:
                self.report.skip(table, legacy_id, f"parent category {parent} does not exist")
                continue
            parent_id = parent_row.new_id
            parent_obj = self.session.get(Category, parent_id) if parent_id else None
            if parent_id not in siblings:
                query = select(Category.name, Category.id).where(
                    Category.parent_id.is_(None) if parent_id is None
                    else Category.parent_id == parent_id)
                siblings[parent_id] = {n.lower(): i for n, i in self.session.execute(query)}
            # A category of that name that was here before the import is the same one; a
            # legacy sibling of the same name is another (renamed).
            same = siblings[parent_id].get(str(row["name"]).strip().lower())
            if same is not None and same not in imported:
                self._record("category", legacy_id, same, name=row["name"], existing=True)
                self.report.count(table, "merged")
                self.report.note(table, legacy_id, f"{row['name']!r} exists here: its files "
                                 "and children go to that category")
                continue
            taken = set(siblings[parent_id])
            name = mapping.unique_name(str(row["name"]), taken, legacy_id, 255)
            if name != str(row["name"]).strip():
                self.report.note(table, legacy_id, f"renamed {row['name']!r} to {name!r} "
                                 "(a sibling has that name)")
            category = Category(name=name, parent_id=parent_id, path="/",
                                weight=int(row.get("weight") or 0),
                                enabled=bool(row.get("enabled", 1)))
            self.session.add(category)
            self.session.flush()
            category.path = f"{parent_obj.path if parent_obj else '/'}{category.id}/"
            siblings[parent_id][name.lower()] = category.id
            imported.add(category.id)
            self._record("category", legacy_id, category.id, name=row["name"],
                         description=row.get("description") or None)
            self.report.count(table, "imported")
        self.session.flush()

    # Catalogue -------------------------------------------------------------------------------

    def catalog(self) -> None:
        """ow_catalog: 编目信息 → a root per media type → field groups → fields (free text)."""
        table = "ow_catalog"
        rows = {int(r["id"]): r for r in self._rows(table)}
        known = self._known("catalog")
        chains = {i: mapping.parent_chain(rows, i) for i in rows}
        roots = {i: self._media_type(rows[i]) for i, c in chains.items() if len(c) == 2}
        for legacy_id in sorted(rows, key=lambda i: (len(chains[i]), i)):
            row, chain = rows[legacy_id], chains[legacy_id]
            if str(legacy_id) in known:
                self.report.count(table, "already")
                continue
            if len(chain) <= 2:
                media_type = roots.get(legacy_id)
                if len(chain) == 2 and media_type is None:
                    self.report.skip(table, legacy_id, f"{row['name']!r} is not a media "
                                     "type's catalogue (视频/音频/图片/富媒体编目)")
                    continue
                self._record("catalog", legacy_id, None, media_type=media_type,
                             name=row["name"])
                self.report.count(table, "merged")
                continue
            media_type = roots.get(chain[1])
            if media_type is None:
                self.report.skip(table, legacy_id, "not under a media type's catalogue")
                continue
            if len(chain) == 3:
                node, merged = self._catalog_node(media_type, row, None)
            else:
                group = known.get(str(chain[2]))
                if group is None or group.new_id is None:
                    self.report.skip(table, legacy_id, "its field group was not imported")
                    continue
                if len(chain) > 4:
                    self.report.note(table, legacy_id, "deeper than group → field: filed as "
                                     "a field of its top group")
                node, merged = self._catalog_node(
                    media_type, row, self.session.get(CatalogField, group.new_id))
            self._record("catalog", legacy_id, node.id, media_type=media_type,
                         name=row["name"])
            self.report.count(table, "merged" if merged else "imported")
            if merged and node.kind not in (FieldKind.group, FieldKind.text, FieldKind.longtext):
                self.report.note(table, legacy_id, f"{media_type} {node.group_key}/{node.key} "
                                 f"exists here as a {node.kind} field: legacy values that "
                                 "do not fit it are dropped (and reported)")
        self.session.flush()

    @staticmethod
    def _media_type(row: dict[str, Any]) -> str | None:
        name = str(row["name"]).strip()
        if name in mapping.CATALOG_ROOTS:
            return mapping.CATALOG_ROOTS[name]
        # The seed's ids, when a station renamed the roots.
        return {2: "video", 3: "audio", 4: "image", 5: "document"}.get(int(row["id"]))

    def _catalog_node(self, media_type: str, row: dict[str, Any],
                      group: CatalogField | None) -> tuple[CatalogField, bool]:
        """The group or field for a legacy node: the one of that name when it exists (the
        seeded schema, or a legacy sibling of the same name: ``catalog_info`` names them, so
        they are one), else a new free-text one. True when it existed."""
        group_key = group.key if group is not None else ""
        name = str(row["name"]).strip() or f"#{row['id']}"
        key = "".join(c if c not in "./\\" else "_" for c in name).lstrip()[:64] or (
            f"#{row['id']}")
        existing = self.session.scalar(select(CatalogField).where(
            CatalogField.media_type == media_type, CatalogField.group_key == group_key,
            CatalogField.key == key))
        if existing is not None:
            return existing, True
        node = CatalogField(
            media_type=media_type, parent_id=group.id if group is not None else None,
            group_key=group_key, key=key,
            kind=FieldKind.group if group is None else FieldKind.text,
            name_zh=name[:128], name_en="", help_zh=str(row.get("description") or "")[:512],
            help_en="", required=False, choices=[], weight=int(row.get("weight") or 0),
            enabled=bool(row.get("enabled", 1)), archived=False,
            created_at=mapping.timestamp(row.get("created")) or utcnow(),
            updated_at=mapping.timestamp(row.get("updated")) or utcnow())
        self.session.add(node)
        self.session.flush()
        return node, False

    def _catalog_keys(self) -> dict[str, dict[str, tuple[str, dict[str, CatalogField]]]]:
        """media type -> legacy group name -> (group key, legacy field name -> field)."""
        rows = {int(r["id"]): r for r in self.tables.get("ow_catalog") or []}
        known = self._known("catalog")
        ids = [r.new_id for r in known.values() if r.new_id is not None]
        nodes = {n.id: n for n in self.session.scalars(
            select(CatalogField).where(CatalogField.id.in_(ids)))} if ids else {}
        out: dict[str, dict[str, tuple[str, dict[str, CatalogField]]]] = {}
        by_node: dict[int, tuple[str, dict[str, CatalogField]]] = {}
        pairs = []
        for legacy_id, record in sorted(known.items(), key=lambda kv: int(kv[0])):
            node = nodes.get(record.new_id) if record.new_id is not None else None
            row = rows.get(int(legacy_id))
            if node is not None and row is not None:
                pairs.append((str(row["name"]).strip(), node))
        for name, node in pairs:
            if node.kind == FieldKind.group:
                entry = by_node.setdefault(node.id, (node.key, {}))
                out.setdefault(node.media_type, {}).setdefault(name, entry)
        for name, node in pairs:
            group = by_node.get(node.parent_id or 0)
            if node.kind != FieldKind.group and group is not None:
                group[1].setdefault(name, node)
        return out
