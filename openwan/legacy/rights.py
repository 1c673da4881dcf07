"""The rights and accounts stages of a legacy import: permissions (mapped to ours),
roles, groups with their roles and categories, and users with their MD5-crypt passwords."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from openwan.access.passwords import LEGACY_PREFIX, verify_legacy
from openwan.legacy import mapping
from openwan.models import Category, Group, Permission, Role, User, utcnow


class RightsStage:
    """The rights and accounts stages of :class:`~openwan.legacy.importer.Importer` (a
    mixin: it works on the importer's session, report and id records)."""

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


def _ip(value: Any) -> str | None:
    text = str(value or "").strip()
    return None if text in ("", "0.0.0.0") else text[:45]  # noqa: S104 - "never" in PHP
