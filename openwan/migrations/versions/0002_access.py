"""accounts and access control: groups, roles, permissions, levels, sessions, tokens, audit

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import openwan.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTF8 = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

# Frozen seed data (the code's constants may move on; a migration must not).
PERMISSIONS = {
    "asset.upload": "Upload files",
    "asset.catalog": "Catalogue assets of bound categories (edit, submit for review)",
    "asset.review": "Review assets of bound categories (approve, send back)",
    "asset.download": "Download originals where the asset allows it",
    "asset.delete": "Move assets of bound categories to the recycle bin and restore them",
    "admin.users": "Manage accounts",
    "admin.groups": "Manage groups",
    "admin.roles": "Manage roles and permissions",
    "admin.levels": "Manage browse levels",
    "admin.categories": "Manage the category tree",
    "admin.catalog": "Manage the catalogue fields",
    "audit.read": "Read the audit log",
}
ROLES = {
    "ADMIN": ("Administrator: every permission, sees every asset", list(PERMISSIONS)),
    "SYSTEM": ("System manager: accounts, rights, vocabularies, audit",
               ["admin.users", "admin.groups", "admin.roles", "admin.levels",
                "admin.categories", "admin.catalog", "audit.read"]),
    "NORMAL": ("Viewer: search, preview and download what is published to them",
               ["asset.download"]),
    "EDITOR": ("Editor: upload and catalogue", ["asset.upload", "asset.catalog",
                                                 "asset.download"]),
    "CATALOGUER": ("Cataloguer: catalogue and submit for review", ["asset.catalog",
                                                                  "asset.download"]),
    "REVIEWER": ("Reviewer: approve, send back, delete and restore",
                 ["asset.review", "asset.delete", "asset.download"]),
}
LEVELS = [(1, "公开", "Public"), (2, "私有", "Private"), (3, "秘密", "Secret"),
          (4, "机密", "Confidential"), (5, "绝密", "Top secret")]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        **UTF8,
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action_at", ["action", "at"], unique=False)
        batch_op.create_index("ix_audit_log_actor_id_at", ["actor_id", "at"], unique=False)
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_log_target", ["target_type", "target_id"], unique=False)

    groups = op.create_table(
        "groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("all_categories", sa.Boolean(), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
        **UTF8,
    )
    levels = op.create_table(
        "levels",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_levels")),
        **UTF8,
    )
    permissions = op.create_table(
        "permissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint("name", name=op.f("uq_permissions_name")),
        **UTF8,
    )
    roles = op.create_table(
        "roles",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
        **UTF8,
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.Column("expires_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        **UTF8,
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("revoked_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_auth_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        **UTF8,
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"], unique=False)

    _link_table("group_categories", "group_id", "groups", "category_id", "categories")
    group_roles = _link_table("group_roles", "group_id", "groups", "role_id", "roles")
    role_permissions = _link_table("role_permissions", "role_id", "roles",
                                   "permission_id", "permissions")
    _link_table("user_groups", "user_id", "users", "group_id", "groups")
    _link_table("user_roles", "user_id", "users", "role_id", "roles")

    asset_groups = op.create_table(
        "asset_groups",
        sa.Column("asset_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"],
                                name=op.f("fk_asset_groups_asset_id_assets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"],
                                name=op.f("fk_asset_groups_group_id_groups")),
        sa.PrimaryKeyConstraint("asset_id", "group_id", name=op.f("pk_asset_groups")),
        **UTF8,
    )
    with op.batch_alter_table("asset_groups", schema=None) as batch_op:
        batch_op.create_index("ix_asset_groups_group_id_asset_id", ["group_id", "asset_id"],
                              unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["auth_sessions.id"],
                                name=op.f("fk_refresh_tokens_session_id_auth_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
        **UTF8,
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_tokens_session_id"), ["session_id"],
                              unique=False)

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("all_groups", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column("review_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("previous_status", sa.String(length=16), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("department", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("description", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", openwan.models.base.UTCDateTime(),
                                      nullable=True))

    _seed(groups, levels, permissions, roles, group_roles, role_permissions)
    _backfill_asset_groups(asset_groups)


def _link_table(name: str, left: str, left_table: str, right: str, right_table: str):
    table = op.create_table(
        name,
        sa.Column(left, ID, nullable=False),
        sa.Column(right, ID, nullable=False),
        sa.ForeignKeyConstraint([left], [f"{left_table}.id"],
                                name=op.f(f"fk_{name}_{left}_{left_table}"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint([right], [f"{right_table}.id"],
                                name=op.f(f"fk_{name}_{right}_{right_table}"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(left, right, name=op.f(f"pk_{name}")),
        **UTF8,
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_{right}"), [right], unique=False)
    return table


def _seed(groups, levels, permissions, roles, group_roles, role_permissions) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    bind = op.get_bind()
    op.bulk_insert(levels, [{"id": n, "name": name, "description": english, "enabled": True}
                            for n, name, english in LEVELS])
    # Ids come from the database (explicit ids would leave PostgreSQL's sequences behind).
    op.bulk_insert(permissions, [{"name": name, "description": text, "builtin": True}
                                 for name, text in PERMISSIONS.items()])
    op.bulk_insert(roles, [{"name": name, "description": text, "builtin": True}
                           for name, (text, _) in ROLES.items()])
    op.bulk_insert(groups, [{"name": "administrators", "description": "Administrators",
                             "all_categories": True, "quota_bytes": None,
                             "created_at": now, "updated_at": now}])
    permission_ids = dict(bind.execute(sa.select(permissions.c.name, permissions.c.id)).all())
    role_ids = dict(bind.execute(sa.select(roles.c.name, roles.c.id)).all())
    op.bulk_insert(role_permissions, [
        {"role_id": role_ids[role], "permission_id": permission_ids[name]}
        for role, (_, names) in ROLES.items() for name in names])
    admin_group = bind.execute(sa.select(groups.c.id).where(groups.c.name == "administrators"))
    op.bulk_insert(group_roles, [{"group_id": admin_group.scalar_one(),
                                  "role_id": role_ids["ADMIN"]}])


def _backfill_asset_groups(asset_groups) -> None:
    """Assets written before this revision: mirror their JSON ``groups`` into the new table."""
    bind = op.get_bind()
    assets = sa.table("assets", sa.column("id", ID), sa.column("groups", sa.JSON()),
                      sa.column("all_groups", sa.Boolean()))
    for asset_id, allowed in bind.execute(sa.select(assets.c.id, assets.c.groups)).all():
        if allowed == "all" or allowed is None:
            continue
        bind.execute(assets.update().where(assets.c.id == asset_id).values(all_groups=False))
        rows = [{"asset_id": asset_id, "group_id": int(g)} for g in sorted(set(allowed))]
        if rows:
            op.bulk_insert(asset_groups, rows)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("password_changed_at", "description", "department", "phone"):
            batch_op.drop_column(column)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        for column in ("previous_status", "review_comment", "all_groups"):
            batch_op.drop_column(column)
    # Dropping a table drops its indexes; MySQL refuses to drop an index a foreign key needs.
    for table in ("refresh_tokens", "asset_groups", "user_roles", "user_groups",
                  "role_permissions", "group_roles", "group_categories", "auth_sessions",
                  "api_tokens", "roles", "permissions", "levels", "groups", "audit_log"):
        op.drop_table(table)
