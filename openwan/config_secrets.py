"""Secrets from AWS Secrets Manager, fetched once at start-up.

ECS can inject secrets as plain environment variables (``DB_PASSWORD``, ``JWT_SECRET``,
``OPENWAN_REDIS_AUTH_TOKEN``); those need nothing from here. Alternatively the environment
names a secret by ARN and OpenWan reads it itself:

- ``DB_PASSWORD_SECRET_ARN`` → the database password (JSON key ``password``),
- ``JWT_SECRET_ARN`` → the JWT signing secret (key ``secret``); its ``AWSPREVIOUS`` version,
  when there is one, stays valid for verification, so a rotation logs nobody out,
- ``OPENWAN_REDIS_AUTH_TOKEN_SECRET_ARN`` → the Redis AUTH token (key ``token``),
- ``OPENWAN_ORIGIN_SECRET_ARN`` → the value CloudFront sends in ``X-OpenWan-Origin``
  (key ``secret``),
- ``OPENWAN_ADMIN_PASSWORD_SECRET_ARN`` → the first administrator's password, used by
  ``openwan migrate`` when no administrator exists (key ``password``).

A secret's value may be JSON (``{"password": "…"}``, the seed's form; a one-key object is
taken whatever the key) or a plain string. A value given directly in the environment wins
over an ARN. A secret that cannot be read stops start-up with a message naming the variable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pydantic import SecretStr

from openwan.config import Settings, SettingsError

log = logging.getLogger("openwan.secrets")


@dataclass(frozen=True)
class _Spec:
    env: str
    group: str
    field: str
    keys: tuple[str, ...]
    arn_field: str | None = None  # default: the group's in _ARN_FIELDS


SPECS = (
    _Spec("DB_PASSWORD_SECRET_ARN", "db", "password", ("password",)),
    _Spec("JWT_SECRET_ARN", "auth", "jwt_secret", ("secret", "jwt_secret", "key")),
    _Spec("OPENWAN_REDIS_AUTH_TOKEN_SECRET_ARN", "redis", "auth_token",
          ("token", "auth_token", "password")),
    _Spec("OPENWAN_ORIGIN_SECRET_ARN", "http", "origin_secret",
          ("secret", "origin_secret", "value", "header")),
    _Spec("OPENWAN_ADMIN_PASSWORD_SECRET_ARN", "auth", "admin_password",
          ("password", "admin_password"), arn_field="admin_password_secret_arn"),
)
_ARN_FIELDS = {"db": "password_secret_arn", "auth": "jwt_secret_arn",
               "redis": "auth_token_secret_arn", "http": "origin_secret_arn"}


def parse_secret(value: str, keys: tuple[str, ...]) -> str:
    """The secret inside ``value``: a JSON object's known key (or only key), else the text."""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), str):
                return data[key]
        if len(data) == 1 and isinstance(next(iter(data.values())), str):
            return next(iter(data.values()))
        raise ValueError(f"JSON secret has none of the keys {', '.join(keys)}")
    if isinstance(data, str):
        return data
    return value


def _region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def _client(arn: str):
    import boto3

    return boto3.client("secretsmanager", region_name=_region(arn))


def _fetch(arn: str, stage: str = "AWSCURRENT") -> str:
    response = _client(arn).get_secret_value(SecretId=arn, VersionStage=stage)
    if "SecretString" in response:
        return response["SecretString"]
    return response["SecretBinary"].decode()


def resolve_secrets(settings: Settings) -> list[str]:
    """Fill secrets named by ARN into ``settings`` (in place); returns the variables used."""
    from botocore.exceptions import BotoCoreError, ClientError

    used = []
    for spec in SPECS:
        group = getattr(settings, spec.group)
        arn = getattr(group, spec.arn_field or _ARN_FIELDS[spec.group])
        if not arn or getattr(group, spec.field) is not None:
            continue
        try:
            value = parse_secret(_fetch(arn), spec.keys)
        except (BotoCoreError, ClientError, ValueError) as exc:
            raise SettingsError(f"{spec.env}: cannot read the secret ({exc})") from exc
        setattr(group, spec.field, SecretStr(value))
        used.append(spec.env)
        if spec.field == "jwt_secret":
            _add_previous_jwt_secret(settings, arn, spec.keys, value)
    if used:
        settings.__dict__.pop("jwt_secret", None)  # recompute the cached property
        log.info("secrets read from Secrets Manager: %s", ", ".join(used))
    return used


def _add_previous_jwt_secret(settings: Settings, arn: str, keys: tuple[str, ...],
                             current: str) -> None:
    from botocore.exceptions import ClientError

    try:
        previous = parse_secret(_fetch(arn, "AWSPREVIOUS"), keys)
    except ClientError as exc:
        # No previous version yet (never rotated): nothing more to accept.
        if exc.response.get("Error", {}).get("Code") in ("ResourceNotFoundException",
                                                          "InvalidRequestException"):
            return
        raise SettingsError(f"JWT_SECRET_ARN: cannot read the previous version ({exc})") \
            from exc
    if previous and previous != current:
        known = settings.auth.jwt_previous.get_secret_value() if settings.auth.jwt_previous \
            else ""
        joined = ",".join(p for p in (known, previous) if p)
        settings.auth.jwt_previous = SecretStr(joined)
