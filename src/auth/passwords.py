"""Argon2 password hashing (pwdlib), with the parameters chosen by `PASSWORD_HASHING`."""

import secrets
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from src.settings import settings


@cache
def _password_hash() -> PasswordHash:
    if settings.password_hashing == "fast":  # noqa: S105 - a mode, not a password
        # The smallest parameters Argon2 accepts: still a real argon2id hash, at a fraction of a millisecond.
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    return _password_hash().hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return _password_hash().hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a fresh hash when the stored one uses outdated parameters.

    A stored value that is not a hash we know (a placeholder, a corrupted row) never matches; a dummy verify keeps
    the time spent the same as for a real hash.
    """
    try:
        return _password_hash().verify_and_update(password, password_hash)
    except UnknownHashError:
        spend_verify_time(password)
        return False, None


def spend_verify_time(password: str) -> None:
    """Verify against a throwaway hash, so that an unknown e-mail costs as much time as a wrong password."""
    _password_hash().verify(password, _dummy_hash())
