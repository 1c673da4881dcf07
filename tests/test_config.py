from pathlib import Path

import pytest

from openwan.config import Settings, SettingsError


def test_embedded_defaults_live_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OPENWAN_DATA_DIR", "OPENWAN_DATABASE_URL", "DB_HOST", "OPENWAN_STORAGE_URL",
                 "S3_BUCKET", "OPENWAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'openwan.db'}"
    assert settings.storage_url == (tmp_path / "var" / "storage").as_uri()
    settings.check()  # development needs no secrets


def test_seed_names_are_honoured(monkeypatch):
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "3307")
    monkeypatch.setenv("DB_NAME", "openwan")
    monkeypatch.setenv("DB_USER", "ow")
    monkeypatch.setenv("DB_PASSWORD", "p@ss/word%")
    monkeypatch.setenv("S3_BUCKET", "openwan-media-123-us-east-1")
    monkeypatch.setenv("SQS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123/openwan")
    monkeypatch.setenv("FFMPEG_THREADS", "4")
    monkeypatch.setenv("REDIS_HOST", "cache.internal")
    monkeypatch.delenv("OPENWAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENWAN_STORAGE_URL", raising=False)
    monkeypatch.delenv("OPENWAN_QUEUE_URL", raising=False)
    settings = Settings()
    assert settings.database_url == (
        "mysql+pymysql://ow:p%40ss%2Fword%25@db.internal:3307/openwan?charset=utf8mb4")
    assert settings.storage_url == "s3://openwan-media-123-us-east-1"
    assert settings.queue.url.endswith("/openwan")
    assert settings.media.threads == 4
    assert settings.redis.resolved_url() == "redis://cache.internal:6379/0"


def test_openwan_database_url_beats_db_vars(monkeypatch):
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("OPENWAN_DATABASE_URL", "postgresql+psycopg://u:p@h/d")
    assert Settings().database_url == "postgresql+psycopg://u:p@h/d"


@pytest.mark.parametrize("secret", [None, "changeme", "short"])
def test_production_refuses_missing_or_placeholder_jwt_secret(monkeypatch, secret):
    monkeypatch.setenv("OPENWAN_ENV", "production")
    if secret is None:
        monkeypatch.delenv("JWT_SECRET", raising=False)
    else:
        monkeypatch.setenv("JWT_SECRET", secret)
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings().check()


def test_production_refuses_missing_database_password(monkeypatch):
    monkeypatch.setenv("OPENWAN_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "k" * 48)
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    monkeypatch.delenv("OPENWAN_DATABASE_URL", raising=False)
    with pytest.raises(SettingsError, match="DB_PASSWORD"):
        Settings().check()
    monkeypatch.setenv("DB_PASSWORD", "a-real-generated-password")
    Settings().check()


def test_development_jwt_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("OPENWAN_DATA_DIR", str(tmp_path))
    first = Settings().jwt_secret
    assert len(first) >= 32
    assert Settings().jwt_secret == first
    assert (Path(tmp_path) / "jwt-secret").stat().st_mode & 0o077 == 0
