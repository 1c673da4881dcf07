"""media pipeline: jobs and renditions (issue: media)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import openwan.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("asset_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("deadline", openwan.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.Column("started_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", openwan.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_jobs_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        **_TABLE,
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index("ix_jobs_state_deadline", ["state", "deadline"], unique=False)

    op.create_table(
        "renditions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("asset_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", openwan.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"],
                                name=op.f("fk_renditions_asset_id_assets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renditions")),
        sa.UniqueConstraint("asset_id", "name", name=op.f("uq_renditions_asset_id_name")),
        **_TABLE,
    )


def downgrade() -> None:
    # Tables, not indexes: MySQL refuses to drop an index a foreign key needs.
    op.drop_table("renditions")
    op.drop_table("jobs")
