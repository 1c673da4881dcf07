"""Accounts: creation and authentication. Services flush; the edge commits."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access.passwords import hash_password, needs_rehash, verify_password
from openwan.kit.errors import Conflict, Unprocessable
from openwan.models import User, utcnow

MIN_PASSWORD = 12
COMMON_PASSWORDS = frozenset(
    [
        "123456",
        "123456789",
        "12345678",
        "password",
        "qwerty123",
        "qwerty",
        "111111",
        "123123",
        "1234567890",
        "1234567",
        "password1",
        "12345",
        "000000",
        "iloveyou",
        "admin",
        "admin123",
        "administrator",
        "letmein",
        "welcome",
        "abc123",
        "passw0rd",
        "password123",
        "qwertyuiop",
        "openwan",
        "openwan123",
        "changeme",
        "1q2w3e4r5t",
        "987654321",
    ]
)


def check_password_policy(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(
            f"password must be at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > 1024:
        raise Unprocessable("password is too long (1024 characters at most)", field="password")
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise Unprocessable("password must not contain the username", field="password")
    if lowered in COMMON_PASSWORDS or lowered.rstrip("0123456789!") in COMMON_PASSWORDS:
        raise Unprocessable("password is too common", field="password")


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str = "",
    is_admin: bool = False,
    level: int = 1,
    email: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() or ord(c) < 32 for c in username):
        raise Unprocessable("username must be 1 to 64 characters without spaces", field="username")
    check_password_policy(password, username)
    if find_user(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        is_admin=is_admin,
        level=level,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, username: str, password: str, *, ip: str | None = None
) -> User | None:
    """The user, or None; the work done is the same whether or not the account exists."""
    user = find_user(session, username[:64]) if len(username) <= 64 else None
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.enabled or user.locked:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.login_count += 1
    user.last_login_at = utcnow()
    user.last_login_ip = ip
    session.flush()
    return user


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.is_admin)) or 0
