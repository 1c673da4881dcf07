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

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access.passwords import LEGACY_PREFIX, verify_legacy
from openwan.assets.ingest import BLOCK, classify, read_head
from openwan.config import Settings
from openwan.db import session_factory
from openwan.kit.errors import APIError
from openwan.legacy import mapping
from openwan.legacy.report import Report
from openwan.models import (
    Asset,
    AssetStatus,
    AuditEntry,
    CatalogField,
    Category,
    FieldKind,
    Group,
    LegacyId,
    Level,
    MediaState,
    Permission,
    Role,
    User,
    utcnow,
)
from openwan.storage import get_storage, original_key

log = logging.getLogger("openwan.legacy")

TEXT_MAX = 1000  # longer values make the field ``longtext`` (see ``catalog.fields``)
CHUNK = 4 * BLOCK


class FileIndex:
    """The files under the legacy data root, found by their ``data1\\dir\\md5.ext`` path
    whatever the case of its parts, and whether the copy kept ``\\`` as separators in
    names (archives unpacked from Windows) or made folders of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: dict[str, Path] | None = None

    def _build(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder, _dirs, names in os.walk(self.root):
            rel = os.path.relpath(folder, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            for name in names:
                key = (prefix + name).replace("\\", "/").lower()
                found.setdefault(key, Path(folder) / name)
        return found

    def find(self, relpath: str) -> Path | None:
        if self._paths is None:
            self._paths = self._build()
        return self._paths.get(relpath)


@dataclass
class Stored:
    state: str  # ok | missing | mismatch | refused | unread
    message: str = ""
    key: str | None = None
    size: int = 0
    sha256: str = ""
    kind: str | None = None
    mime: str | None = None
    extension: str | None = None


class Importer:
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

    # Rights ----------------------------------------------------------------------------------

    def permissions(self) -> None:
        table = "ow_permissions"
        known = self._known("permission")
        for row in self._rows(table):
            if str(row["id"]) in known:
                self.report.count(table, "already")
                continue
            controller, action = str(row.get("controller")), str(row.get("action"))
            granted = mapping.permissions_for(controller, action)
            label = f"{row.get('namespace')}/{controller}/{action} ({row.get('aliasname')})"
            self._record("permission", row["id"], None, maps_to=list(granted), name=label)
            if granted:
                self.report.count(table, "imported")
            else:
                self.report.skip(table, row["id"], f"{label}: no equivalent permission: "
                                 + mapping.no_equivalent_reason(controller, action))
        self.session.flush()

    def _granted(self, legacy_permission: Any) -> list[str]:
        record = self._known("permission").get(str(legacy_permission))
        return list(record.detail.get("maps_to") or []) if record is not None else []

    def roles(self) -> None:
        table = "ow_roles"
        known = self._known("role")
        links: dict[int, list[int]] = {}
        for link in self.tables.get("ow_roles_has_permissions") or []:
            links.setdefault(int(link["role_id"]), []).append(int(link["permission_id"]))
        self.report.count("ow_roles_has_permissions", "read",
                          len(self.tables.get("ow_roles_has_permissions") or []))
        permissions = {p.name: p for p in self.session.scalars(select(Permission))}
        for row in self._rows(table):
            if str(row["id"]) in known:
                self.report.count(table, "already")
                continue
            wanted = sorted({name for pid in links.get(int(row["id"]), [])
                             for name in self._granted(pid)})
            name = str(row["name"]).strip()
            existing = self.session.scalar(select(Role).where(
                func.lower(Role.name) == name.lower()))
            if not row.get("enabled", 1) and existing is None:
                self._record("role", row["id"], None, name=name, disabled=True)
                self.report.skip(table, row["id"], f"role {name} was disabled in the 2010 "
                                 "installation; groups holding it do not get it")
                continue
            if existing is not None:
                have = {p.name for p in existing.permissions}
                extra = [p for p in wanted if p not in have]
                if extra and not existing.builtin:
                    existing.permissions.extend(permissions[p] for p in extra)
                elif extra:
                    self.report.note(table, row["id"], f"{name} is a built-in role here; "
                                     f"its legacy grants {extra} were not added to it")
                self._record("role", row["id"], existing.id, name=name)
                self.report.count(table, "merged")
                continue
            role = Role(name=name[:64], description=str(row.get("description") or "")[:500],
                        builtin=False, permissions=[permissions[p] for p in wanted])
            self.report.count("ow_roles_has_permissions", "imported",
                              len(links.get(int(row["id"]), [])))
            self.session.add(role)
            self.session.flush()
            self._record("role", row["id"], role.id, name=name)
            self.report.count(table, "imported")
        self.session.flush()

    def groups(self) -> None:
        table = "ow_groups"
        known = self._known("group")
        roles: dict[int, list[int]] = {}
        for link in self._rows("ow_groups_has_roles"):
            roles.setdefault(int(link["group_id"]), []).append(int(link["role_id"]))
        categories: dict[int, list[int]] = {}
        for link in self._rows("ow_groups_has_category"):
            categories.setdefault(int(link["group_id"]), []).append(int(link["category_id"]))
        present = {n.lower(): i for n, i in self.session.execute(select(Group.name, Group.id))}
        imported = {r.new_id for r in known.values() if not r.detail.get("existing")}
        taken = set(present)
        for row in self._rows(table):
            legacy_id = int(row["id"])
            if str(legacy_id) in known:
                self.report.count(table, "already")
                continue
            same = present.get(str(row["name"]).strip().lower())
            if same is not None and same not in imported:
                # A group of that name that was here before: the same one, rights unchanged.
                self._record("group", legacy_id, same, name=row["name"], existing=True)
                self.report.count(table, "merged")
                self.report.note(table, legacy_id, f"group {row['name']!r} exists here: its "
                                 "members join it; its roles and categories stay as they are")
                continue
            name = mapping.unique_name(str(row["name"]), taken, legacy_id)
            if name != str(row["name"]).strip():
                self.report.note(table, legacy_id, f"renamed {row['name']!r} to {name!r} "
                                 "(group names are unique here)")
            enabled = bool(row.get("enabled", 1))
            role_ids = [self._new_id("role", r) for r in roles.get(legacy_id, [])]
            group_roles = [self.session.get(Role, r) for r in role_ids if r] if enabled else []
            if not enabled:
                self.report.note(table, legacy_id, "disabled in the 2010 installation: "
                                 "imported without roles")
            bound = categories.get(legacy_id, [])
            all_categories = any(self._category_is_root(c) for c in bound)
            category_ids = {self._new_id("category", c) for c in bound} - {None}
            missing = [c for c in bound if str(c) not in self._known("category")]
            if missing:
                self.report.note(table, legacy_id, f"bound categories {missing} do not exist")
            if any(r is not None and r.name == "ADMIN" for r in group_roles):
                members = sum(1 for u in self.tables.get("ow_users") or []
                              if int(u.get("group_id") or 0) == legacy_id)
                self.report.note(table, legacy_id, f"holds the ADMIN role: its {members} "
                                 "imported member(s) are administrators here")
            group = Group(name=name, description=str(row.get("description") or "")[:500],
                          all_categories=all_categories, quota_bytes=None,
                          roles=[r for r in group_roles if r is not None],
                          categories=[self.session.get(Category, c) for c in sorted(
                              category_ids)])
            self.session.add(group)
            self.session.flush()
            present[name.lower()] = group.id
            imported.add(group.id)
            self._record("group", legacy_id, group.id, name=row["name"],
                         quota_mb=row.get("quota"), weight=row.get("weight"), enabled=enabled)
            self.report.count(table, "imported")
            self.report.count("ow_groups_has_roles", "imported", len(roles.get(legacy_id, [])))
            self.report.count("ow_groups_has_category", "imported", len(bound))
        self.session.flush()

    def _category_is_root(self, legacy_category: Any) -> bool:
        record = self._known("category").get(str(legacy_category))
        return bool(record is not None and record.detail.get("root"))

    # Users -----------------------------------------------------------------------------------

    def users(self) -> None:
        table = "ow_users"
        known = self._known("user")
        for row in self._rows(table):
            legacy_id = row["id"]
            if str(legacy_id) in known:
                self.report.count(table, "already")
                continue
            username = str(row["username"]).strip()
            existing = self.session.scalar(select(User).where(
                func.lower(User.username) == username.lower()))
            if existing is not None:
                self._record("user", legacy_id, existing.id, username=username, existing=True)
                self.report.count(table, "merged")
                self.report.note(table, legacy_id, f"{username!r} already has an account "
                                 "here: kept as it is (password and rights unchanged); its "
                                 "files are attributed to it")
                continue
            password = str(row.get("password") or "")
            must_change = bool(password.startswith(LEGACY_PREFIX)
                               and verify_legacy(password, username))
            if not password.startswith(LEGACY_PREFIX):
                self.report.note(table, legacy_id, "no MD5-crypt password: the account "
                                 "cannot sign in until an administrator sets one")
                password = "!legacy-unusable"  # noqa: S105 - matches no password
            level = self._clearance(row.get("level_id"))
            if level is None:
                level = 1
                self.report.note(table, legacy_id, f"level {row.get('level_id')} does not "
                                 "exist: clearance 1")
            phones = [str(row.get(k) or "").strip() for k in ("mobile_phone", "office_phone",
                                                               "home_phone")]
            user = User(
                username=username[:64],
                display_name=(str(row.get("nickname") or "").strip() or username)[:128],
                email=(str(row.get("email") or "").strip() or None),
                phone=next((p for p in phones if p), None),
                department=(str(row.get("duty") or "").strip()[:128] or None),
                description=(str(row.get("description") or "").strip()[:500] or None),
                password_hash=password, must_change_password=must_change,
                password_changed_at=None, is_admin=False, level=level,
                enabled=bool(row.get("enabled", 1)), locked=False,
                login_count=int(row.get("login_count") or 0),
                last_login_at=mapping.timestamp(row.get("login_at")),
                last_login_ip=_ip(row.get("login_ip")),
                created_at=mapping.timestamp(row.get("register_at")) or utcnow())
            group_id = self._new_id("group", row.get("group_id"))
            if group_id is not None:
                user.groups = [self.session.get(Group, group_id)]
            elif row.get("group_id"):
                self.report.note(table, legacy_id, f"group {row.get('group_id')} does not "
                                 "exist: no group")
            self.session.add(user)
            self.session.flush()
            self._record("user", legacy_id, user.id, username=username,
                         sex=row.get("sex"), birthday=row.get("birthday") or None,
                         address=row.get("address") or None,
                         office_phone=row.get("office_phone") or None,
                         home_phone=row.get("home_phone") or None,
                         register_ip=_ip(row.get("register_ip")))
            self.report.count(table, "imported")
            if must_change:
                self.report.note(table, legacy_id, f"{username!r}: the password equals the "
                                 "username; a new one is required at first sign-in")
        self.session.flush()

    def _user_by_name(self, username: Any) -> int | None:
        if not username:
            return None
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = {}
            for record in self._known("user").values():
                if record.new_id is not None:
                    names[str(record.detail.get("username", "")).lower()] = record.new_id
        return names.get(str(username).strip().lower())

    # Files -----------------------------------------------------------------------------------

    def files_(self) -> None:
        table = "ow_files"
        known = self._known("file")
        rows = sorted(self._rows(table), key=lambda r: int(r["id"]))
        self._keys = self._catalog_keys()
        self._categories = {int(r["id"]): r for r in self.tables.get("ow_category") or []}
        pending: list[dict[str, Any]] = []
        retry: list[tuple[dict[str, Any], LegacyId]] = []
        for row in rows:
            record = known.get(str(row["id"]))
            if record is None:
                pending.append(row)
            elif self.files is not None and record.detail.get("file") in (
                    "missing", "mismatch", "unread") and record.new_id is not None:
                retry.append((row, record))
            else:
                self.report.count(table, "already")
        if self.files is None and pending:
            self.report.note(table, "*", f"no --files folder given: {len(pending)} rows "
                             "imported without their bytes (a later run with --files adds "
                             "them)")
        if self.files is not None:
            self.files.find("")  # index the folder once, before the copying threads
        done = 0
        # Copying (read, hash, write, fsync) releases the GIL: a few files at once keep the
        # disk busy while rows are written; the rows themselves go in one by one, in order.
        # Messages of committed jobs go out on their own thread while the next batch copies.
        with ThreadPoolExecutor(max_workers=self.workers) as pool, \
                ThreadPoolExecutor(max_workers=1) as sender:
            self._sender, self._sends = sender, []
            chunks = [pending[i:i + self.batch] for i in range(0, len(pending), self.batch)]
            # The next batch copies while this one's rows are written (one batch ahead).
            copying = self._copy(pool, [self._where(row) for row in chunks[0]]) if chunks else []
            for n, chunk in enumerate(chunks):
                stored = self._copied(copying)
                if n + 1 < len(chunks):
                    copying = self._copy(pool, [self._where(row) for row in chunks[n + 1]])
                created = [self._file(row, s) for row, s in zip(chunk, stored, strict=True)]
                self._write_batch()
                self._finish_batch([a for a in created if a is not None], stored)
                done += len(chunk)
                if self.progress is not None:
                    self.progress("files", done)
            for start in range(0, len(retry), self.batch):
                chunk2 = retry[start:start + self.batch]
                stored = self._copied(self._copy(pool, [
                    self._where(row, record.detail.get("path")) for row, record in chunk2]))
                fixed = [self._refile(row, record, s)
                         for (row, record), s in zip(chunk2, stored, strict=True)]
                self._finish_batch([a for a in fixed if a is not None], stored)
        for future in self._sends:
            if future.exception() is not None:
                log.error("media jobs of a batch not sent (%s); the media reconciler will "
                          "send them", future.exception())

    @staticmethod
    def _where(row: dict[str, Any], relpath: str | None = None) -> tuple[str, str, str]:
        ext = str(row.get("ext") or "").strip()
        return (relpath or mapping.file_relpath(row.get("path"), row.get("name"), ext),
                mapping.display_filename(str(row.get("title") or ""), ext),
                str(row.get("name") or ""))

    def _copy(self, pool: ThreadPoolExecutor,
              wanted: list[tuple[str, str, str]]) -> list[Future[Stored]]:
        return [pool.submit(self._store, *w) for w in wanted]

    def _copied(self, futures: list[Future[Stored]]) -> list[Stored]:
        stored = [f.result() for f in futures]
        self.report.bytes_copied += sum(item.size for item in stored if item.state == "ok")
        return stored

    def _finish_batch(self, assets: list[Asset], stored: list[Stored]) -> None:
        from openwan.search.index import reindex

        ids = [a.id for a in assets]
        queued = [a.id for a in assets if a.media_state == MediaState.queued]
        if ids:
            reindex(self.session, ids)
        bodies = []
        if queued and not self.dry_run:
            from datetime import timedelta

            from openwan.media.service import PROCESS
            from openwan.models import Job, JobState

            # As ``media.service.new_job`` makes them, in one flush for the batch.
            deadline = utcnow() + timedelta(seconds=self.settings.queue.stale_seconds)
            jobs = [Job(name=PROCESS, payload={"asset_id": asset_id}, asset_id=asset_id,
                        state=JobState.queued, attempts=0, progress=0.0, deadline=deadline)
                    for asset_id in queued]
            self.session.add_all(jobs)
            self.session.flush()
            bodies = [(job.id, {"name": job.name, "job_id": job.id, **job.payload})
                      for job in jobs]
        self._checkpoint()
        with self._lock:
            self._uncommitted -= {s.key for s in stored if s.key is not None}
        if bodies:
            self._sends.append(self._sender.submit(self._send, bodies))

    def _send(self, bodies: list[tuple[int, dict[str, Any]]]) -> None:
        """Send the committed jobs' messages (as ``media.service.send`` does, with one
        transaction for the batch); those not sent are sent by the media reconciler."""
        from sqlalchemy import update

        from openwan.db import unit_of_work
        from openwan.models import Job, JobState
        from openwan.queue import QueueError, get_queue

        queue = get_queue(self.settings)
        sent: dict[int, str] = {}
        for job_id, body in bodies:
            try:
                sent[job_id] = queue.send(body)
            except QueueError as exc:
                log.error("jobs not sent (%s); the media reconciler will send them", exc)
                break
            except Exception:  # on the sender thread: nobody else would see it
                log.exception("jobs not sent; the media reconciler will send them")
                break
        with unit_of_work(self.settings) as session:
            for job_id, message_id in sent.items():
                session.execute(update(Job).where(Job.id == job_id,
                                                  Job.state == JobState.queued)
                                .values(message_id=message_id))

    def _file(self, row: dict[str, Any], stored: Stored) -> Asset | None:
        table = "ow_files"
        legacy_id = row["id"]
        legacy_type = mapping.TYPES.get(int(row.get("type") or 0))
        status = mapping.STATUSES.get(int(row.get("status") or 0))
        if legacy_type is None or status is None:
            self._record("file", legacy_id, None, skipped="unknown type or status")
            self.report.skip(table, legacy_id, f"unknown type {row.get('type')} or status "
                             f"{row.get('status')}")
            return None
        ext = str(row.get("ext") or "").strip()
        relpath, filename, _md5 = self._where(row)
        self.report.files[stored.state] += 1
        if stored.state not in ("ok", "unread"):
            self.report.note(table, legacy_id, f"file {relpath}: {stored.message}")
        elif stored.kind != legacy_type:
            self.report.note(table, legacy_id, f"stored as {stored.kind} (its content), "
                             f"legacy type was {legacy_type}")
        kind = stored.kind or legacy_type
        category_id = self._file_category(row)
        level = self._clearance(row.get("level"))
        if level is None:
            level = max([r.new_id for r in self._known("level").values() if r.new_id]
                        or [5])
            self.report.note(table, legacy_id, f"level {row.get('level')} does not exist: "
                             f"given the highest, {level}")
        groups = self._file_groups(row)
        uploaded = mapping.timestamp(row.get("upload_at")) or utcnow()
        catalogued = mapping.timestamp(row.get("catalog_at"))
        published = mapping.timestamp(row.get("putout_at"))
        uploader = self._user_by_name(row.get("upload_username"))
        publisher = self._user_by_name(row.get("putout_username"))
        cataloguer = self._user_by_name(row.get("catalog_username"))
        for role, name, found in (("uploader", row.get("upload_username"), uploader),
                                  ("publisher", row.get("putout_username"), publisher)):
            if name and found is None:
                self.report.note(table, legacy_id, f"{role} {name!r} is not an imported user")
        asset = Asset(
            type=kind, title=(str(row.get("title") or "").strip() or filename)[:512],
            filename=filename[:255], extension=(stored.extension or ext.lower())[:16],
            size=stored.size if stored.state == "ok" else int(row.get("size") or 0),
            sha256=stored.sha256, mime_type=stored.mime or "application/octet-stream",
            storage_key=stored.key or f"original/{kind}/legacy-missing/{legacy_id}",
            status=status, level=level, download=bool(row.get("is_download", 1)),
            category_id=category_id, catalog=self._file_catalog(row, legacy_type),
            technical={}, uploaded_by=uploader, created_at=uploaded,
            # The recycle bin's retention runs from the last change: for deleted files, from
            # the import (else the next purge would empty the imported bin at once).
            updated_at=utcnow() if status == AssetStatus.deleted else max(
                t for t in (uploaded, catalogued, published) if t is not None),
            published_at=published, published_by=publisher,
            media_state=MediaState.queued if stored.state == "ok" else MediaState.failed,
            media_error=None if stored.state == "ok" else (
                f"original not imported: {stored.message}")[:1000])
        asset.groups = "all" if groups is None else groups
        self.session.add(asset)
        history = [(action, at, actor_id, str(actor)[:64] if actor else None)
                   for action, at, actor_id, actor in (
                       ("asset.upload", uploaded, uploader, row.get("upload_username")),
                       ("asset.catalog", catalogued, cataloguer, row.get("catalog_username")),
                       ("asset.approve", published, publisher, row.get("putout_username")))
                   if at is not None and (action == "asset.upload" or actor)]
        detail = {"file": stored.state, "path": relpath,
                  "category_name": row.get("category_name"), "legacy_type": legacy_type,
                  "legacy_size": row.get("size"), "md5": row.get("name")}
        self._written.append((asset, legacy_id, history,
                              {k: v for k, v in detail.items() if v not in (None, "")}))
        self.report.count(table, "imported")
        return asset

    def _write_batch(self) -> None:
        """The batch's assets in one flush, then their history and id records in bulk."""
        from sqlalchemy import insert

        self.session.flush()
        audits, records = [], []
        for asset, legacy_id, history, detail in self._written:
            audits.extend({"at": at, "actor_id": actor_id, "actor": actor, "ip": None,
                           "action": action, "target_type": "asset",
                           "target_id": str(asset.id), "success": True,
                           "detail": {"legacy_file": legacy_id, "via": "legacy import"}}
                          for action, at, actor_id, actor in history)
            records.append({"kind": "file", "legacy_id": str(legacy_id), "new_id": asset.id,
                            "detail": detail})
        self._written = []
        if audits:
            self.session.connection().execute(insert(AuditEntry.__table__), audits)
        if records:
            self.session.connection().execute(insert(LegacyId.__table__), records)

    def _refile(self, row: dict[str, Any], record: LegacyId, stored: Stored) -> Asset | None:
        """A file row imported without its bytes: store them if they are here now."""
        asset = self.session.get(Asset, record.new_id)
        relpath = self._where(row, record.detail.get("path"))[0]
        if asset is None:
            if stored.key is not None:
                self.storage.delete(stored.key)
                with self._lock:
                    self._uncommitted.discard(stored.key)
            self.report.count("ow_files", "already")
            return None
        if stored.state != "ok":
            self.report.count("ow_files", "already")
            self.report.files[stored.state] += 1
            return None
        self.report.files["ok"] += 1
        asset.type, asset.size = stored.kind, stored.size
        asset.storage_key = stored.key or asset.storage_key
        asset.sha256, asset.mime_type = stored.sha256, stored.mime
        asset.extension = stored.extension or asset.extension
        asset.media_state, asset.media_error = MediaState.queued, None
        record.detail = {**record.detail, "file": "ok"}
        self.report.count("ow_files", "merged")
        self.report.note("ow_files", row["id"], f"file {relpath} found: stored")
        return asset

    def _file_category(self, row: dict[str, Any]) -> int | None:
        table, legacy_id = "ow_files", row["id"]
        category = int(row.get("category_id") or 0)
        record = self._known("category").get(str(category))
        legacy = self._categories.get(category)
        if record is None:
            self.report.note(table, legacy_id, f"category {category} does not exist: "
                             "no category")
            return None
        stale = str(row.get("category_name") or "").strip()
        if legacy is not None and stale and stale != str(legacy["name"]).strip():
            self.report.note(table, legacy_id, f"category_name {stale!r} is stale: filed "
                             f"under category {category} {legacy['name']!r} (by id)")
        if record.detail.get("root"):
            self.report.note(table, legacy_id, "filed under the root category: no category")
        return record.new_id

    def _file_groups(self, row: dict[str, Any]) -> list[int] | None:
        wanted = mapping.id_list(row.get("groups"))
        if wanted is None:
            return None
        found = [self._new_id("group", g) for g in wanted]
        missing = [g for g, f in zip(wanted, found, strict=True) if f is None]
        if missing:
            self.report.note("ow_files", row["id"], f"allowed groups {missing} do not exist")
        return sorted({f for f in found if f is not None})

    def _file_catalog(self, row: dict[str, Any], media_type: str) -> dict[str, dict[str, Any]]:
        info = mapping.catalog_info(row.get("catalog_info"))
        groups = self._keys.get(media_type, {})
        out: dict[str, dict[str, Any]] = {}
        dropped = []
        for group_name, fields in info.items():
            group = groups.get(group_name.strip())
            for field_name, text in fields.items():
                text = text.strip()
                if not text:
                    continue
                field = group[1].get(field_name.strip()) if group is not None else None
                value = mapping.field_value(field.kind, field.choices, text) if field else None
                if field is None or value is None:
                    dropped.append(f"{group_name}/{field_name}" + (
                        f" ({text!r} is not a {field.kind})" if field is not None else ""))
                    continue
                out.setdefault(group[0], {})[field.key] = value
                if field.kind == FieldKind.text and len(text) > TEXT_MAX:
                    field.kind = FieldKind.longtext  # a safe change: every value survives it
        if dropped:
            self.report.note("ow_files", row["id"], f"catalogue values dropped (no such "
                             f"{media_type} field, or not of its kind): {dropped}")
        return out

    def _store(self, relpath: str, filename: str, md5: str) -> Stored:
        """Copy the legacy file into storage (sniffed, SHA-256 and MD5 computed in one read),
        refusing it when its MD5 is not the one the row holds."""
        if self.files is None:
            return Stored("unread", "no --files folder given")
        path = self.files.find(relpath)
        if path is None:
            return Stored("missing", f"not found under {self.files.root}")
        try:
            sniffed = classify(read_head(path), filename)
        except APIError as exc:
            return Stored("refused", exc.message)
        except OSError as exc:
            return Stored("missing", f"cannot read: {exc}")
        digest = hashlib.md5(usedforsecurity=False)
        sha = hashlib.sha256()
        key = original_key(sniffed.kind, sniffed.extension)
        writer = None if self.dry_run else self.storage.open_writer(key, sniffed.mime,
                                                                    hasher=sha)
        size = 0
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if writer is not None:
                        writer.write(chunk)
                    else:
                        sha.update(chunk)
            if writer is not None:
                writer.flush()
            if md5 and digest.hexdigest() != md5.strip().lower():
                if writer is not None:
                    writer.abort()
                return Stored("mismatch", f"MD5 {digest.hexdigest()} is not the recorded "
                              f"{md5}")
            if writer is not None:
                writer.commit()
                with self._lock:  # noted at once: if the batch fails, it is removed
                    self._uncommitted.add(key)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        return Stored("ok", key=None if writer is None else key, size=size,
                      sha256=sha.hexdigest(), kind=sniffed.kind, mime=sniffed.mime,
                      extension=sniffed.extension)


def _ip(value: Any) -> str | None:
    text = str(value or "").strip()
    return None if text in ("", "0.0.0.0") else text[:45]  # noqa: S104 - "never" in PHP
