"""Secrets from Secrets Manager (a moto server): JSON or plain values, precedence, failures,
and JWT rotation that logs nobody out."""

from __future__ import annotations

import json

import boto3
import pytest

from openwan.access.tokens import InvalidToken, decode, issue
from openwan.config import SettingsError
from openwan.config_secrets import parse_secret, resolve_secrets


def _secret(name: str, value: str) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def test_parse_secret_forms():
    assert parse_secret('{"password": "p1"}', ("password",)) == "p1"
    assert parse_secret('{"whatever": "p2"}', ("password",)) == "p2"  # a one-key object
    assert parse_secret("plain-text-secret", ("password",)) == "plain-text-secret"
    assert parse_secret('"quoted"', ("password",)) == "quoted"
    with pytest.raises(ValueError, match="password"):
        parse_secret('{"a": "1", "b": "2"}', ("password",))


def test_secrets_are_read_by_arn(aws_env, make_settings, tmp_path):
    db_arn = _secret("openwan/database/password", json.dumps({"password": "db-pass-from-sm"}))
    jwt_arn = _secret("openwan/jwt/secret", "j" * 64)  # a plain string
    redis_arn = _secret("openwan/redis/auth-token", json.dumps({"token": "redis-token-sm"}))
    settings = make_settings(DB_HOST="db.internal", DB_PASSWORD_SECRET_ARN=db_arn,
                             JWT_SECRET_ARN=jwt_arn, JWT_SECRET="",
                             OPENWAN_REDIS_AUTH_TOKEN_SECRET_ARN=redis_arn,
                             REDIS_HOST="cache.internal", OPENWAN_ENV="production")
    settings.auth.jwt_secret = None  # as if unset: only the ARN is given
    used = resolve_secrets(settings)
    assert used == ["DB_PASSWORD_SECRET_ARN", "JWT_SECRET_ARN",
                    "OPENWAN_REDIS_AUTH_TOKEN_SECRET_ARN"]
    assert settings.db.password.get_secret_value() == "db-pass-from-sm"
    assert "db-pass-from-sm" in settings.database_url
    assert settings.jwt_secret == "j" * 64
    assert settings.redis.resolved_url() == "redis://:redis-token-sm@cache.internal:6379/0"
    settings.check()  # production accepts the resolved secrets


def test_directly_injected_values_win_and_failures_name_the_variable(aws_env, make_settings):
    arn = _secret("openwan/database/other", json.dumps({"password": "from-sm"}))
    settings = make_settings(DB_PASSWORD="injected-by-ecs", DB_PASSWORD_SECRET_ARN=arn)
    assert resolve_secrets(settings) == []
    assert settings.db.password.get_secret_value() == "injected-by-ecs"
    missing = make_settings(DB_PASSWORD_SECRET_ARN=arn.replace("other", "missing"))
    with pytest.raises(SettingsError, match="DB_PASSWORD_SECRET_ARN"):
        resolve_secrets(missing)


def test_jwt_rotation_keeps_tokens_signed_with_the_previous_secret(aws_env, make_settings):
    old, new = "old-signing-secret-" + "o" * 40, "new-signing-secret-" + "n" * 40
    arn = _secret("openwan/jwt/rotating", json.dumps({"secret": old}))
    before = make_settings(JWT_SECRET_ARN=arn)
    before.auth.jwt_secret = None
    resolve_secrets(before)
    token, _ = issue(before, 7, "access")

    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"secret": new}))
    after = make_settings(JWT_SECRET_ARN=arn)
    after.auth.jwt_secret = None
    resolve_secrets(after)
    assert after.jwt_secret == new
    assert decode(after, token, "access").user_id == 7  # signed before the rotation
    fresh, _ = issue(after, 8, "access")
    assert decode(after, fresh, "access").user_id == 8
    with pytest.raises(InvalidToken):
        decode(before, fresh, "access")  # the old key set does not know the new secret


def test_jwt_previous_secrets_from_the_environment(make_settings):
    old = "env-old-secret-" + "a" * 40
    token, _ = issue(make_settings(JWT_SECRET=old), 3, "access")
    rotated = make_settings(JWT_SECRET="env-new-secret-" + "b" * 40,
                            OPENWAN_JWT_PREVIOUS_SECRETS=old)
    assert decode(rotated, token, "access").user_id == 3
    with pytest.raises(InvalidToken):
        decode(make_settings(JWT_SECRET="env-new-secret-" + "b" * 40), token, "access")


def test_cli_reads_secrets_at_start_up(aws_env, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    arn = _secret("openwan/jwt/cli", json.dumps({"secret": "c" * 48}))
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DB_HOST")}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[1]), OPENWAN_ENV="production",
               OPENWAN_DATA_DIR=str(tmp_path), JWT_SECRET_ARN=arn,
               OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    ok = subprocess.run([sys.executable, "-m", "openwan", "migrate"], env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    env["JWT_SECRET_ARN"] = arn.replace("cli", "gone")
    refused = subprocess.run([sys.executable, "-m", "openwan", "migrate"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "refusing to start: JWT_SECRET_ARN: cannot read the secret" in refused.stderr
