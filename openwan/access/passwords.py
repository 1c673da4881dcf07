"""argon2id password hashing; MD5-crypt (``$1$``) hashes imported from the 2010 OpenWan are
verified too, and re-hashed with argon2id at the first successful sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from passlib.hash import md5_crypt  # libpass, the maintained passlib

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username does not exist, so both paths cost the same.
_DUMMY = _hasher.hash("openwan-timing-equaliser")
LEGACY_PREFIX = "$1$"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is not None and password_hash.startswith(LEGACY_PREFIX):
        return verify_legacy(password_hash, password)
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def verify_legacy(password_hash: str, password: str) -> bool:
    """An MD5-crypt hash of the 2010 OpenWan (``ow_users.password``)."""
    try:
        return md5_crypt.verify(password, password_hash)
    except ValueError:  # a malformed hash
        return False


def needs_rehash(password_hash: str) -> bool:
    if password_hash.startswith(LEGACY_PREFIX):
        return True
    return _hasher.check_needs_rehash(password_hash)
