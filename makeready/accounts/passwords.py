"""Password hashing with argon2id."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from makeready.settings import get_settings

# argon2-cffi's defaults (RFC 9106 low-memory profile). The test suite sets ARGON2_PROFILE=fast, because
# hundreds of fixtures hashing at 64 MiB each dominate its run time; production refuses that profile at start.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if get_settings().app.argon2_profile == "fast"
    else PasswordHasher()
)

MIN_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, checked when the email is unknown so timing does not reveal which emails
    exist. Computed on first use, not at import (an argon2 hash costs tens of milliseconds of CPU at start)."""
    return _hasher.hash("not-a-real-password-0123456789")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
