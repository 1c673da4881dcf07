# ruff: noqa: E501
"""catalogue and search: catalogue schema (seeded), catalogue values, search documents + FTS

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import openwan.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The seeded catalogue schemas: (group key, English name, [(field key, English name, kind)]).
# Video follows the Chinese broadcast AV cataloguing standard that OpenWan used.
_TITLE_VIDEO = [
    ("正题名", "Proper title", "text"),
    ("并列正题名", "Parallel proper title", "text"),
    ("副题名", "Subtitle", "text"),
    ("交替副题名", "Alternative subtitle", "text"),
    ("题名说明", "Title statement", "text"),
    ("系列题名", "Series title", "text"),
    ("并列题名", "Parallel title", "text"),
    ("分集总数", "Number of episodes", "number"),
    ("分集次", "Episode number", "number"),
]
_SUBJECT = [("分类名", "Classification", "text"), ("主题词", "Subject terms", "text")]
_LANGUAGES = ["汉语", "英语", "粤语", "日语", "法语", "其他"]
SEED = {
    "video": [
        ("题名", "Title", _TITLE_VIDEO),
        ("主题", "Subject", _SUBJECT),
        ("描述", "Description", [("内容描述", "Summary", "longtext"),
                                ("语种", "Language", "choice")]),
    ],
    "audio": [
        ("题名", "Title", [("正题名", "Proper title", "text"), ("副题名", "Subtitle", "text"),
                         ("系列题名", "Series title", "text")]),
        ("责任者", "Creators", [("作者", "Author", "text"), ("表演者", "Performer", "text")]),
        ("主题", "Subject", _SUBJECT),
        ("描述", "Description", [("内容描述", "Summary", "longtext"),
                                ("语种", "Language", "choice")]),
    ],
    "image": [
        ("题名", "Title", [("正题名", "Proper title", "text")]),
        ("描述", "Description", [("内容描述", "Caption", "longtext"),
                                ("拍摄者", "Photographer", "text"),
                                ("拍摄日期", "Date taken", "date"),
                                ("拍摄地点", "Location", "text")]),
        ("主题", "Subject", [("主题词", "Subject terms", "text")]),
    ],
    "document": [
        ("题名", "Title", [("正题名", "Proper title", "text"), ("副题名", "Subtitle", "text")]),
        ("责任者", "Creators", [("作者", "Author", "text")]),
        ("出版", "Publication", [("出版者", "Publisher", "text"),
                               ("出版日期", "Date published", "date")]),
        ("主题", "Subject", _SUBJECT),
        ("描述", "Description", [("摘要", "Abstract", "longtext"),
                                ("页数", "Pages", "number"),
                                ("语种", "Language", "choice")]),
    ],
}


def upgrade() -> None:
    op.create_table('catalog_fields',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('group_key', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name_zh', sa.String(length=128), nullable=False),
    sa.Column('name_en', sa.String(length=128), nullable=False),
    sa.Column('help_zh', sa.String(length=512), nullable=False),
    sa.Column('help_en', sa.String(length=512), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', openwan.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', openwan.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['catalog_fields.id'], name=op.f('fk_catalog_fields_parent_id_catalog_fields'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_fields')),
    sa.UniqueConstraint('media_type', 'group_key', 'key', name=op.f('uq_catalog_fields_media_type_group_key_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    )
    with op.batch_alter_table('catalog_fields', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_fields_parent_id'), ['parent_id'], unique=False)

    op.create_table('catalog_values',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_key', sa.String(length=64), nullable=False),
    sa.Column('field_key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=191), nullable=False),
    sa.Column('number', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_catalog_values_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_values')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    )
    with op.batch_alter_table('catalog_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_values_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_catalog_values_field_number', ['group_key', 'field_key', 'number'], unique=False)
        batch_op.create_index('ix_catalog_values_field_value', ['group_key', 'field_key', 'value'], unique=False)

    op.create_table('search_documents',
    sa.Column('asset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('title_tokens', sa.Text(), nullable=False),
    sa.Column('body_tokens', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb'), nullable=False),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('codec', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_search_documents_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_search_documents')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_documents_duration'), ['duration'], unique=False)



    _create_fulltext()
    _seed_catalog_schema()


def _create_fulltext() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # External-content FTS5 over the pre-tokenized text; triggers keep it in step.
        op.execute("CREATE VIRTUAL TABLE fts_search USING fts5(title_tokens, body_tokens, "
                   "content='search_documents', content_rowid='asset_id', tokenize='ascii')")
        op.execute("CREATE TRIGGER fts_search_ai AFTER INSERT ON search_documents BEGIN "
                   "INSERT INTO fts_search(rowid, title_tokens, body_tokens) "
                   "VALUES (new.asset_id, new.title_tokens, new.body_tokens); END")
        op.execute("CREATE TRIGGER fts_search_ad AFTER DELETE ON search_documents BEGIN "
                   "INSERT INTO fts_search(fts_search, rowid, title_tokens, body_tokens) "
                   "VALUES ('delete', old.asset_id, old.title_tokens, old.body_tokens); END")
        op.execute("CREATE TRIGGER fts_search_au AFTER UPDATE OF title_tokens, body_tokens "
                   "ON search_documents BEGIN "
                   "INSERT INTO fts_search(fts_search, rowid, title_tokens, body_tokens) "
                   "VALUES ('delete', old.asset_id, old.title_tokens, old.body_tokens); "
                   "INSERT INTO fts_search(rowid, title_tokens, body_tokens) "
                   "VALUES (new.asset_id, new.title_tokens, new.body_tokens); END")
    elif dialect in ("mysql", "mariadb"):
        op.execute("CREATE FULLTEXT INDEX fts_search_documents "
                   "ON search_documents (title_tokens, body_tokens)")
        op.execute("CREATE FULLTEXT INDEX fts_search_documents_title "
                   "ON search_documents (title_tokens)")
    elif dialect == "postgresql":
        op.execute("CREATE INDEX fts_search_documents ON search_documents USING gin (("
                   "setweight(to_tsvector('simple'::regconfig, title_tokens), 'A') || "
                   "setweight(to_tsvector('simple'::regconfig, body_tokens), 'B')))")


def _seed_catalog_schema() -> None:
    table = sa.table(
        "catalog_fields",
        sa.column("id", sa.Integer), sa.column("media_type", sa.String),
        sa.column("parent_id", sa.Integer), sa.column("group_key", sa.String),
        sa.column("key", sa.String), sa.column("kind", sa.String),
        sa.column("name_zh", sa.String), sa.column("name_en", sa.String),
        sa.column("help_zh", sa.String), sa.column("help_en", sa.String),
        sa.column("required", sa.Boolean), sa.column("choices", sa.JSON),
        sa.column("weight", sa.Integer), sa.column("enabled", sa.Boolean),
        sa.column("archived", sa.Boolean),
        sa.column("created_at", openwan.models.base.UTCDateTime),
        sa.column("updated_at", openwan.models.base.UTCDateTime),
    )
    now = openwan.models.base.utcnow()
    rows = []
    next_id = 1
    for media_type, groups in SEED.items():
        for g_weight, (group, group_en, fields) in enumerate(groups):
            group_id = next_id
            next_id += 1
            rows.append(_row(group_id, media_type, None, "", group, "group", group, group_en,
                             100 - g_weight, now))
            for f_weight, (key, name_en, kind) in enumerate(fields):
                row = _row(next_id, media_type, group_id, group, key, kind, key, name_en,
                           100 - f_weight, now)
                if kind == "choice":
                    row["choices"] = list(_LANGUAGES)
                if key == "正题名":
                    row["required"] = True
                rows.append(row)
                next_id += 1
    op.bulk_insert(table, rows)
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids were inserted: move the sequence past them.
        op.execute("SELECT setval(pg_get_serial_sequence('catalog_fields', 'id'), "
                   "(SELECT max(id) FROM catalog_fields))")


def _row(id_, media_type, parent_id, group_key, key, kind, name_zh, name_en, weight, now):
    return {"id": id_, "media_type": media_type, "parent_id": parent_id,
            "group_key": group_key, "key": key, "kind": kind, "name_zh": name_zh,
            "name_en": name_en, "help_zh": "", "help_en": "", "required": False,
            "choices": [], "weight": weight, "enabled": True, "archived": False,
            "created_at": now, "updated_at": now}


def downgrade() -> None:
    # Dropping the tables drops their FULLTEXT/GIN indexes and SQLite triggers with them.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS fts_search")
    for table in ("search_documents", "catalog_values", "catalog_fields"):
        op.drop_table(table)
