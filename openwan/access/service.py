"""Accounts: creation, sign-in with throttling, profile, password, rights. Services flush;
the edge commits."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from openwan.access import audit, rules, sessions, throttle
from openwan.access import permissions as P
from openwan.access.passwords import hash_password, needs_rehash, verify_password
from openwan.config import Settings
from openwan.kit.errors import APIError, Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from openwan.models import Group, Level, Role, User, group_roles, user_groups, user_roles, utcnow

MIN_PASSWORD = 12
MAX_USERNAME = 64
_COMMON = """
123456 123456789 12345678 password qwerty123 qwerty 111111 123123 1234567890 1234567
password1 12345 000000 iloveyou admin admin123 administrator letmein welcome abc123
passw0rd password123 qwertyuiop openwan openwan123 changeme 1q2w3e4r5t 987654321
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())
PROFILE_FIELDS = ("display_name", "email", "phone", "department", "description")


class TooManyAttempts(APIError):
    status, code = 429, "too_many_attempts"


def check_password_policy(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(f"password must be at least {MIN_PASSWORD} characters",
                            field="password")
    if len(password) > 1024:
        raise Unprocessable("password is too long (1024 characters at most)", field="password")
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise Unprocessable("password must not contain the username", field="password")
    if lowered in COMMON_PASSWORDS or lowered.rstrip("0123456789!") in COMMON_PASSWORDS:
        raise Unprocessable("password is too common", field="password")
    if len(set(password)) < 5:
        raise Unprocessable("password needs more different characters", field="password")


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > MAX_USERNAME or any(
            c.isspace() or ord(c) < 32 or c in "/\\\"'<>;`" for c in username):
        raise Unprocessable(f"username must be 1 to {MAX_USERNAME} characters without spaces, "
                            "quotes, slashes or <>;`", field="username")
    return username


def check_level(session: Session, level: int, field: str = "level") -> int:
    if session.get(Level, level) is None:
        raise Unprocessable(f"level {level} does not exist", field=field)
    return level


def create_user(session: Session, username: str, password: str, *, display_name: str = "",
                is_admin: bool = False, level: int = 1, email: str | None = None,
                groups: list[int] | None = None, roles: list[str] | None = None,
                actor: User | None = None, **profile: str | None) -> User:
    """Create an account. Administrators (``is_admin``) also join the administrators group.

    With an ``actor`` (the API), what it grants is checked against what the actor holds.
    """
    username = check_username(username)
    check_password_policy(password, username)
    check_level(session, level)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(username=username, display_name=(display_name or username)[:128], email=email,
                password_hash=hash_password(password), password_changed_at=utcnow(),
                is_admin=is_admin, level=level,
                **{k: v for k, v in profile.items() if k in PROFILE_FIELDS})
    session.add(user)
    session.flush()
    if is_admin:
        admins = session.scalar(select(Group).where(Group.name == P.ADMIN_GROUP))
        if admins is not None:
            user.groups.append(admins)
    if groups:
        set_groups(session, user, groups)
    if roles:
        set_roles(session, user, roles)
    if actor is not None:
        check_grant(session, actor, user, is_admin=is_admin, level=level)
    session.flush()
    audit.record(session, "user.create", actor=actor, target=("user", user.id),
                 detail={"username": username, "after": snapshot(user)})
    return user


def snapshot(user: User) -> dict[str, Any]:
    """The rights-relevant state of an account, for before/after audit entries."""
    return {"level": user.level, "is_admin": user.is_admin, "enabled": user.enabled,
            "locked": user.locked, "groups": sorted(g.id for g in user.groups),
            "roles": sorted(r.name for r in user.roles)}


def _groups_by_id(session: Session, ids: list[int]) -> list[Group]:
    wanted = sorted(set(ids))
    found = list(session.scalars(select(Group).where(Group.id.in_(wanted))).all())
    missing = sorted(set(wanted) - {g.id for g in found})
    if missing:
        raise Unprocessable(f"groups do not exist: {missing}", field="groups")
    return sorted(found, key=lambda g: g.id)


def roles_by_name(session: Session, names: list[str], field: str = "roles") -> list[Role]:
    wanted = sorted(set(names))
    found = list(session.scalars(select(Role).where(Role.name.in_(wanted))).all())
    missing = sorted(set(wanted) - {r.name for r in found})
    if missing:
        raise Unprocessable(f"roles do not exist: {missing}", field=field)
    return sorted(found, key=lambda r: r.id)


def set_groups(session: Session, user: User, group_ids: list[int]) -> None:
    user.groups = _groups_by_id(session, group_ids)
    rules.forget_access(user)
    session.flush()


def assign_groups(session: Session, user: User, names: list[str]) -> None:
    """Add ``user`` to groups given by name (``openwan user create --group``)."""
    groups = []
    for name in names:
        group = session.scalar(select(Group).where(Group.name == name))
        if group is None and name.isdigit():
            group = session.get(Group, int(name))
        if group is None:
            raise Unprocessable(f"group {name!r} does not exist", field="groups")
        groups.append(group)
    before = snapshot(user)
    for group in groups:
        if group not in user.groups:
            user.groups.append(group)
    rules.forget_access(user)
    session.flush()
    audit.record(session, "user.rights", target=("user", user.id),
                 detail=audit.changes(before, snapshot(user)))


def set_roles(session: Session, user: User, names: list[str]) -> None:
    user.roles = roles_by_name(session, names)
    rules.forget_access(user)
    session.flush()


def check_grant(session: Session, actor: User, user: User, *, is_admin: bool,
                level: int) -> None:
    """Refuse grants beyond the actor's own: no one hands out more than they hold."""
    access = rules.access_of(actor)
    if access.is_admin:
        return
    if is_admin:
        raise Forbidden("only administrators can create administrators")
    if level > access.clearance:
        raise Forbidden(f"you cannot grant clearance {level} above your own ({access.clearance})")
    rules.forget_access(user)
    granted = rules.resolve(session, user)
    missing = [P.ADMIN_ROLE] if granted.is_admin else rules.beyond(access, granted.permissions)
    if missing:
        raise Forbidden(f"you cannot grant rights you do not hold: {missing}")


def check_target(actor: User, user: User) -> None:
    """Refuse changing an account that holds more than the actor (say, an administrator's
    password reset by an account manager)."""
    access = rules.access_of(actor)
    if access.is_admin or actor.id == user.id:
        return
    target = rules.access_of(user)
    if target.is_admin or rules.beyond(access, target.permissions):
        raise Forbidden("this account holds rights you do not; only an administrator can "
                        "change it")


def active_admin_ids(session: Session) -> set[int]:
    """Enabled, unlocked administrators (root flag or the ADMIN role, directly or by group)."""
    admin_role = select(Role.id).where(Role.name == P.ADMIN_ROLE).scalar_subquery()
    by_group = select(user_groups.c.user_id).join(
        group_roles, group_roles.c.group_id == user_groups.c.group_id).where(
        group_roles.c.role_id == admin_role)
    direct = select(user_roles.c.user_id).where(user_roles.c.role_id == admin_role)
    return set(session.scalars(select(User.id).where(
        User.enabled, User.locked.is_(False),
        or_(User.is_admin, User.id.in_(by_group), User.id.in_(direct)))).all())


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.is_admin)) or 0


def update_user(session: Session, actor: User, user: User, changes: dict[str, Any]) -> User:
    """Apply an administrator's changes; rights changes are audited before/after."""
    check_target(actor, user)
    before = snapshot(user)
    profile_before = {k: getattr(user, k) for k in PROFILE_FIELDS}
    for key in PROFILE_FIELDS:
        if key in changes:
            value = changes[key]
            setattr(user, key, (value or user.username) if key == "display_name" else value)
    if changes.get("level") is not None:
        user.level = check_level(session, changes["level"])
    for flag in ("enabled", "locked", "is_admin"):
        if changes.get(flag) is not None:
            setattr(user, flag, bool(changes[flag]))
    if changes.get("groups") is not None:
        set_groups(session, user, changes["groups"])
    if changes.get("roles") is not None:
        set_roles(session, user, changes["roles"])
    if changes.get("password"):
        check_password_policy(changes["password"], user.username)
        user.password_hash = hash_password(changes["password"])
        user.password_changed_at = utcnow()
        sessions.revoke_all(session, user.id, "password_reset")
    rules.forget_access(user)
    after = snapshot(user)
    if after != before:
        check_grant(session, actor, user, is_admin=user.is_admin and not before["is_admin"],
                    level=user.level if user.level != before["level"] else 0)
        ensure_an_admin(session)
    if not user.enabled or user.locked:
        sessions.revoke_all(session, user.id, "locked" if user.locked else "disabled")
    session.flush()
    detail = audit.changes(before, after)
    profile = audit.changes(profile_before, {k: getattr(user, k) for k in PROFILE_FIELDS})
    if profile["after"]:
        detail["profile"] = profile
    if changes.get("password"):
        detail["password"] = "reset"  # noqa: S105 - what happened, not a secret
    audit.record(session, "user.update", actor=actor, target=("user", user.id), detail=detail)
    return user


def ensure_an_admin(session: Session) -> None:
    session.flush()
    if not active_admin_ids(session) and session.scalar(select(func.count()).select_from(User)):
        raise Conflict("this change would leave no active administrator")


def delete_user(session: Session, actor: User, user: User) -> None:
    from openwan.models import Asset

    if user.id == actor.id:
        raise Conflict("you cannot delete your own account")
    check_target(actor, user)
    if session.scalar(select(Asset.id).where(
            or_(Asset.uploaded_by == user.id, Asset.published_by == user.id)).limit(1)):
        raise Conflict("this account owns or published assets; disable it instead")
    detail = {"username": user.username, "before": snapshot(user)}
    user_id = user.id
    session.delete(user)
    session.flush()
    ensure_an_admin(session)
    audit.record(session, "user.delete", actor=actor, target=("user", user_id), detail=detail)


def list_users(session: Session, *, page: int, size: int, q: str | None = None,
               group_id: int | None = None, enabled: bool | None = None
               ) -> tuple[int, list[User]]:
    query = select(User)
    if q:
        pattern = f"%{q}%"
        query = query.where(or_(User.username.like(pattern), User.display_name.like(pattern),
                                User.email.like(pattern)))
    if group_id is not None:
        query = query.where(User.id.in_(select(user_groups.c.user_id)
                                        .where(user_groups.c.group_id == group_id)))
    if enabled is not None:
        query = query.where(User.enabled.is_(enabled))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.options(selectinload(User.groups), selectinload(User.roles))
                           .order_by(User.id).offset((page - 1) * size).limit(size)).all()
    return total, list(rows)


# Sign-in -------------------------------------------------------------------------------------

def _credentials(session: Session, username: str, password: str, *, ip: str | None,
                 settings: Settings | None) -> User | None:
    """The account whose password matches, or None; the work done is the same whether or not
    the account exists. Raises :class:`TooManyAttempts` while this (account, address) or this
    address must wait (``openwan.access.throttle``), after checking the password all the same,
    so the answer takes as long."""
    from openwan.config import get_settings

    settings = settings or get_settings()
    wait = throttle.wait_seconds(session, settings, username, ip)
    user = find_user(session, username) if len(username) <= MAX_USERNAME else None
    ok = verify_password(user.password_hash if user else None, password)
    if wait:
        raise TooManyAttempts(f"too many failed sign-in attempts; try again in {wait} s",
                              headers={"Retry-After": str(wait)}, retry_after=wait)
    if not ok or user is None:
        throttle.record_failure(session, settings, username, ip)
        return None
    throttle.record_success(session, username, ip)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _attempt(session: Session, username: str, password: str, *, ip: str | None,
             settings: Settings | None, via: str) -> tuple[User | None, str | None]:
    """One audited sign-in attempt: (user, None) on success, else (user or None, reason)."""
    name = username[:MAX_USERNAME]
    try:
        user = _credentials(session, username, password, ip=ip, settings=settings)
    except TooManyAttempts:
        audit.record(session, "auth.login", actor_name=name, ip=ip, success=False,
                     detail={"reason": "throttled", "via": via})
        raise
    if user is None:
        audit.record(session, "auth.login", actor_name=name, ip=ip, success=False,
                     detail={"reason": "bad credentials", "via": via})
        return None, "credentials"
    if not sessions.usable(user):
        reason = "locked" if user.locked else "disabled"
        audit.record(session, "auth.login", actor=user, ip=ip, success=False,
                     detail={"reason": reason, "via": via})
        return user, reason
    user.login_count += 1
    user.last_login_at = utcnow()
    user.last_login_ip = ip
    session.flush()
    audit.record(session, "auth.login", actor=user, ip=ip, detail={"via": via})
    return user, None


def authenticate(session: Session, username: str, password: str, *, ip: str | None = None,
                 settings: Settings | None = None) -> User | None:
    """The enabled, unlocked account whose password matches, or None (the web sign-in).

    Audited either way; raises :class:`TooManyAttempts` (429) while locked out.
    """
    user, refused = _attempt(session, username, password, ip=ip, settings=settings, via="web")
    return None if refused else user


def login(session: Session, settings: Settings, username: str, password: str, *,
          ip: str | None, user_agent: str | None) -> sessions.TokenPair:
    """Check the credentials, audit the attempt either way, and open a session.

    On failure the audit entry is flushed before the error is raised; the edge commits it.
    """
    user, refused = _attempt(session, username, password, ip=ip, settings=settings, via="api")
    if refused == "credentials" or user is None:
        raise Unauthorized("wrong username or password")
    if refused:
        raise Forbidden("this account is locked or disabled; ask an administrator",
                        code="account_locked")
    pair = sessions.start(session, settings, user, ip=ip, user_agent=user_agent)
    if user.must_change_password:
        pair = dataclasses.replace(pair, password_change_required=True)
    return pair


def update_profile(session: Session, user: User, changes: dict[str, Any]) -> User:
    """The user centre: a user edits their own profile fields (not their rights)."""
    before = {k: getattr(user, k) for k in PROFILE_FIELDS}
    for key in PROFILE_FIELDS:
        if key in changes:
            value = changes[key]
            setattr(user, key, (value or user.username) if key == "display_name" else value)
    session.flush()
    detail = audit.changes(before, {k: getattr(user, k) for k in PROFILE_FIELDS})
    audit.record(session, "user.profile", actor=user, target=("user", user.id), detail=detail)
    return user


def change_password(session: Session, settings: Settings, user: User, current: str, new: str,
                    *, ip: str | None, user_agent: str | None) -> sessions.TokenPair:
    """Check the current password, set the new one, end every session, open a fresh one."""
    if not verify_password(user.password_hash, current):
        audit.record(session, "auth.password_change", actor=user, success=False,
                     detail={"reason": "wrong current password"})
        raise Forbidden("the current password is wrong", code="wrong_password")
    check_password_policy(new, user.username)
    if verify_password(user.password_hash, new):
        raise Unprocessable("the new password must differ from the current one",
                            field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    revoked = sessions.revoke_all(session, user.id, "password_change")
    audit.record(session, "auth.password_change", actor=user,
                 detail={"sessions_revoked": revoked})
    return sessions.start(session, settings, user, ip=ip, user_agent=user_agent)
