"""Migrations on SQLite, MariaDB and PostgreSQL; no drift; Chinese text round-trips."""

from alembic import command
from sqlalchemy import inspect, select

from openwan import migrate
from openwan.db import get_engine, unit_of_work
from openwan.models import Asset, Category, User
from tests.conftest import all_backends


@all_backends
def test_migrations_create_every_table_and_match_the_models(settings):
    tables = set(inspect(get_engine(settings)).get_table_names())
    assert {"users", "assets", "categories", "uploads", "alembic_version"} <= tables
    migrate.check(settings.database_url)  # `alembic check`: raises on model drift


@all_backends
def test_downgrade_and_upgrade_again(settings):
    config = migrate.alembic_config(settings.database_url)
    command.downgrade(config, "base")
    assert "assets" not in inspect(get_engine(settings)).get_table_names()
    command.upgrade(config, "head")
    assert "assets" in inspect(get_engine(settings)).get_table_names()


@all_backends
def test_chinese_text_round_trips(settings):
    title = "城市夜景延时摄影 🌃 新闻联播"
    with unit_of_work(settings) as session:
        user = User(username="编目员", password_hash="x", display_name="张伟")
        category = Category(name="新闻/纪录片", path="/")
        session.add_all([user, category])
        session.flush()
        session.add(Asset(type="video", title=title, filename="夜景.mp4", extension="mp4",
                          size=1, sha256="0" * 64, mime_type="video/mp4",
                          storage_key="original/video/2026/01/a.mp4", uploaded_by=user.id,
                          category_id=category.id, catalog={"题名": {"正题名": title}},
                          technical={}))
    with unit_of_work(settings) as session:
        asset = session.scalar(select(Asset))
        assert asset.title == title
        assert asset.catalog == {"题名": {"正题名": title}}
        assert session.scalar(select(User.username)) == "编目员"
        assert asset.created_at.tzinfo is not None
