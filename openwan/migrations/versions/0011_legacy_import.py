"""importing a 2010 OpenWan installation: the legacy id map, and the must-change-password flag

``legacy_ids`` records what each legacy row became (kind, legacy id -> new id), so a second
import changes nothing and an interrupted one resumes where it stopped. Imported accounts
whose password equals their username must choose a new one at first sign-in.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTF8 = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "legacy_ids",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("legacy_id", sa.String(length=64), nullable=False),
        sa.Column("new_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_ids")),
        sa.UniqueConstraint("kind", "legacy_id", name=op.f("uq_legacy_ids_kind_legacy_id")),
        **UTF8,
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(),
                                      server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    op.drop_table("legacy_ids")
