"""the rights filter from indexes: visibility copies on asset_groups, covering indexes (issue 4)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import openwan.models.base  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COPIES = ("status", "level", "category_id")


def upgrade() -> None:
    with op.batch_alter_table("asset_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("category_id", ID, nullable=True))
    # Links written before this revision take their asset's values.
    links = sa.table("asset_groups", sa.column("asset_id", ID),
                     *(sa.column(name) for name in COPIES))
    assets = sa.table("assets", sa.column("id", ID), *(sa.column(name) for name in COPIES))
    op.get_bind().execute(links.update().values({
        name: sa.select(assets.c[name]).where(assets.c.id == links.c.asset_id).scalar_subquery()
        for name in COPIES}))
    with op.batch_alter_table("asset_groups", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("level", existing_type=sa.Integer(), nullable=False)
        # Created before the old index goes: MySQL keeps one for the group_id foreign key.
        batch_op.create_index("ix_asset_groups_visible",
                              ["group_id", "status", "level", "category_id", "asset_id"],
                              unique=False)
        batch_op.drop_index("ix_asset_groups_group_id_asset_id")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index("ix_assets_uploaded_by", ["uploaded_by", "created_at", "status"],
                              unique=False)
        batch_op.drop_index("ix_assets_uploaded_by_created_at")
        batch_op.create_index("ix_assets_listing", ["created_at", "id", "status", "level",
                                                    "category_id", "all_groups", "uploaded_by"],
                              unique=False)
        batch_op.drop_index("ix_assets_created_at_id")
        batch_op.create_index("ix_assets_visible", ["status", "category_id", "level",
                                                    "all_groups", "uploaded_by", "id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_visible")
        batch_op.create_index("ix_assets_created_at_id", ["created_at", "id"], unique=False)
        batch_op.drop_index("ix_assets_listing")
        batch_op.create_index("ix_assets_uploaded_by_created_at", ["uploaded_by", "created_at"],
                              unique=False)
        batch_op.drop_index("ix_assets_uploaded_by")
    with op.batch_alter_table("asset_groups", schema=None) as batch_op:
        batch_op.create_index("ix_asset_groups_group_id_asset_id", ["group_id", "asset_id"],
                              unique=False)
        batch_op.drop_index("ix_asset_groups_visible")
        for name in reversed(COPIES):
            batch_op.drop_column(name)
