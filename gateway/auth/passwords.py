"""Password hashes: Argon2id (what ``gateway hash-password`` makes) and PBKDF2-SHA256.

PBKDF2 is accepted because it is what many brokers' systems already store and the standard
library verifies it; new hashes are Argon2id, OWASP's first recommendation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import argon2
import argon2.exceptions

_ARGON2 = argon2.PasswordHasher()
# Verified against when the login is unknown, so that a wrong login costs as much time as a
# wrong password and response times do not reveal which logins exist.
_DUMMY = _ARGON2.hash("not a password")
# Far above what any system uses (Django: 1.2 million): a larger count in a stored hash would
# only make one login attempt cost minutes of CPU.
_MAX_PBKDF2_ROUNDS = 5_000_000


def hash_password(password: str) -> str:
    """A new salted Argon2id hash of ``password``."""
    return _ARGON2.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: an unknown user, always False)."""
    if stored is None:
        _verify_argon2(_DUMMY, password)
        return False
    if stored.startswith("$argon2"):
        return _verify_argon2(stored, password)
    if stored.startswith("pbkdf2_sha256$"):
        return _verify_pbkdf2(stored, password)
    return False


def _verify_argon2(stored: str, password: str) -> bool:
    try:
        return _ARGON2.verify(stored, password)
    except (
        argon2.exceptions.VerificationError,
        argon2.exceptions.InvalidHashError,
        UnicodeError,  # a non-ASCII hash, or a password with a lone surrogate
    ):
        return False


def _verify_pbkdf2(stored: str, password: str) -> bool:
    # Format (Django's): pbkdf2_sha256$<iterations>$<salt>$<base64 digest>
    try:
        _, iterations, salt, digest = stored.split("$", 3)
        expected = base64.b64decode(digest)
        rounds = int(iterations)
        if not 1 <= rounds <= _MAX_PBKDF2_ROUNDS or not expected:
            return False  # a hash no system makes: refused, not computed
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), salt.encode(), rounds, len(expected)
        )
    except (ValueError, UnicodeError):
        return False
    return hmac.compare_digest(actual, expected)
