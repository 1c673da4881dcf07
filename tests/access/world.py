"""A small OpenWan with every kind of user and asset, built through services and the ORM
(not HTTP), so rule tests stay fast on every backend."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.access import sessions
from openwan.access.passwords import hash_password
from openwan.models import Asset, AssetStatus, Category, Group, Role, User

PASSWORD = "Matrix-Password-2024!"


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def add_category(session: Session, name: str, parent: Category | None = None) -> Category:
    category = Category(name=name, parent_id=parent.id if parent else None, path="/")
    session.add(category)
    session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    session.flush()
    return category


def add_group(session: Session, name: str, roles: list[str], categories) -> Group:
    role_rows = list(session.scalars(select(Role).where(Role.name.in_(roles))).all())
    assert len(role_rows) == len(roles), roles
    group = Group(name=name, description="", all_categories=categories == "all")
    group.roles = role_rows
    if categories != "all":
        group.categories = list(categories)
    session.add(group)
    session.flush()
    return group


def add_user(session: Session, username: str, *, level: int = 1, groups=(), is_admin=False,
             roles: list[str] | None = None) -> User:
    user = User(username=username, display_name=username, password_hash=_password_hash(),
                level=level, is_admin=is_admin)
    user.groups = list(groups)
    if roles:
        user.roles = list(session.scalars(select(Role).where(Role.name.in_(roles))).all())
    session.add(user)
    session.flush()
    return user


_counter = itertools.count()


def add_asset(session: Session, *, uploader: User, status: str = AssetStatus.new, level: int = 1,
              groups="all", category: Category | None = None, download: bool = False,
              size: int = 10, storage=None, title: str | None = None) -> Asset:
    n = next(_counter)
    key = f"original/image/2026/01/{uuid.uuid4().hex}.png"
    if storage is not None:
        storage.put_bytes(key, b"x" * size, "image/png")
    asset = Asset(type="image", title=title or f"asset {n}", filename=f"a{n}.png",
                  extension="png", size=size, sha256=uuid.uuid4().hex + uuid.uuid4().hex,
                  mime_type="image/png", storage_key=key, status=status, media_state="ready",
                  level=level, groups=groups, download=download,
                  category_id=category.id if category else None, catalog={}, technical={},
                  uploaded_by=uploader.id)
    session.add(asset)
    session.flush()
    return asset


def bearer(session: Session, settings, user: User) -> dict[str, str]:
    pair = sessions.start(session, settings, user, ip="127.0.0.1", user_agent="tests")
    return {"Authorization": f"Bearer {pair.access_token}"}


@dataclass
class World:
    categories: dict[str, Category] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    # The spec each user is checked against: their clearance, groups, bound categories
    # (None = all, subtrees expanded by hand), and what their roles allow.
    spec: dict[str, dict] = field(default_factory=dict)


def build_world(session: Session) -> World:
    w = World()
    c = w.categories
    c["news"] = add_category(session, "新闻")
    c["sports"] = add_category(session, "体育", c["news"])  # inside news: bound with it
    c["film"] = add_category(session, "电影")
    g = w.groups
    g["news"] = add_group(session, "news viewers", ["NORMAL"], [c["news"]])
    g["film"] = add_group(session, "film viewers", ["NORMAL"], [c["film"]])
    g["all"] = add_group(session, "everything viewers", ["NORMAL"], "all")
    g["nodownload"] = add_group(session, "news browsers", [], [c["news"]])
    g["cat"] = add_group(session, "news cataloguers", ["CATALOGUER"], [c["news"]])
    g["rev"] = add_group(session, "news reviewers", ["REVIEWER"], [c["news"]])
    g["edit"] = add_group(session, "news editors", ["EDITOR"], [c["news"]])
    g["sys"] = add_group(session, "system managers", ["SYSTEM"], [])
    news = {c["news"].id, c["sports"].id}
    film = {c["film"].id}
    viewer = {"asset.download"}
    table = [
        # name, level, groups, categories, permissions
        ("admin", 5, [], None, "admin"),
        ("viewer1", 1, ["news"], news, viewer),
        ("viewer3", 3, ["news"], news, viewer),
        ("browser", 5, ["nodownload"], news, set()),
        ("filmfan", 5, ["film"], film, viewer),
        ("allview", 2, ["all"], None, viewer),
        ("nogroup", 5, [], set(), set()),
        ("cataloguer", 3, ["cat"], news, {"asset.catalog", "asset.download"}),
        ("reviewer", 3, ["rev"], news, {"asset.review", "asset.delete", "asset.download"}),
        ("editor", 1, ["edit"], news, {"asset.upload", "asset.catalog", "asset.download"}),
        ("system", 5, ["sys"], set(), {"admin.users", "admin.groups", "admin.roles",
                                       "admin.levels", "admin.categories", "admin.catalog",
                                       "audit.read"}),
    ]
    for name, level, groups, cats, perms in table:
        w.users[name] = add_user(session, name, level=level, groups=[g[x] for x in groups],
                                 is_admin=perms == "admin")
        w.spec[name] = {"admin": perms == "admin", "level": level,
                        "groups": {g[x].id for x in groups}, "categories": cats,
                        "perms": set() if perms == "admin" else perms}
    return w


STATUSES = [AssetStatus.new, AssetStatus.pending, AssetStatus.published, AssetStatus.rejected,
            AssetStatus.deleted]


def add_asset_grid(session: Session, w: World, *, storage=None, small: bool = False
                   ) -> list[Asset]:
    """Assets over status × level × allowed groups × category × download × uploader."""
    levels = [1, 3] if small else [1, 3, 5]
    groups = ["all", [w.groups["news"].id], [w.groups["film"].id, w.groups["all"].id]]
    categories = [w.categories["news"], w.categories["sports"], w.categories["film"], None]
    uploaders = [w.users["editor"], w.users["admin"]]
    assets = []
    for i, (status, level, allowed, category, download) in enumerate(itertools.product(
            STATUSES, levels, groups, categories, [True, False])):
        if small and i % 7:  # 7 shares no factor with the grid: an even sample
            continue
        assets.append(add_asset(session, uploader=uploaders[i % 2], status=status, level=level,
                                groups=allowed, category=category, download=download,
                                storage=storage))
    return assets


# The rule, written out as the product describes it, to check the implementation against.

EXTRA = {"asset.catalog": {"new", "pending", "rejected"},
         "asset.review": {"pending", "published", "rejected"},
         "asset.delete": {"deleted"}}


def in_scope(spec: dict, asset: Asset) -> bool:
    cats = spec["categories"]
    cat_ok = cats is None or (asset.category_id is not None and asset.category_id in cats)
    return cat_ok and asset.level <= spec["level"]


def expect_view(spec: dict, user: User, asset: Asset) -> bool:
    if spec["admin"]:
        return True
    if asset.uploaded_by == user.id and asset.status != "deleted":
        return True
    if asset.status == "published" and in_scope(spec, asset) and (
            asset.groups == "all" or set(asset.groups) & spec["groups"]):
        return True
    return in_scope(spec, asset) and any(
        asset.status in statuses for perm, statuses in EXTRA.items() if perm in spec["perms"])


def manages(spec: dict, asset: Asset, perm: str) -> bool:
    return spec["admin"] or (perm in spec["perms"] and in_scope(spec, asset))


def expect_download(spec: dict, user: User, asset: Asset) -> bool:
    if not expect_view(spec, user, asset):
        return False
    if spec["admin"] or asset.uploaded_by == user.id or manages(spec, asset, "asset.review"):
        return True
    return asset.status == "published" and asset.download and "asset.download" in spec["perms"]
