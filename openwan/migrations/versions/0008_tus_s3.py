"""tus uploads staged in S3 multipart uploads, one PATCH at a time across processes

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import openwan.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_key", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("mime_type", sa.String(length=127), nullable=True))
        batch_op.add_column(sa.Column("mpu_id", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("parts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("sha_state", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("busy_until", openwan.models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column("busy_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        for column in ("busy_token", "busy_until", "sha_state", "parts", "mpu_id", "mime_type",
                       "storage_key"):
            batch_op.drop_column(column)
