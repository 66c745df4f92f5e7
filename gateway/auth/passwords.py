"""Password hashes: made for the YAML's users, checked for them and for brokers' user tables.

New hashes (``gateway hash-password``) are Argon2id, OWASP's first recommendation. Checked are
the hashes a broker's systems already store, for the YAML's users and the sql connector's user
table alike.

Schemes: bcrypt (``$2a$``, ``$2b$``, ``$2y$``), Argon2 (``$argon2id$``, ``$argon2i$``,
``$argon2d$``) and PBKDF2-SHA256 in Django's format (``pbkdf2_sha256$<iterations>$<salt>$<base64
digest>``) and passlib's (``$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 digest>``); ``auto``
recognises each hash by its format. :func:`verify` answers False for anything it cannot check
(a malformed hash, a hash of another scheme, an unencodable password) and never raises for bad
input: the only exception is :class:`PasswordSchemeError` for a deployment without the bcrypt
package, which must not pass for a wrong password.

The cost written in a hash (bcrypt rounds, PBKDF2 iterations, Argon2 memory and time) decides
how long a check takes, so costs far above any real configuration are refused rather than
computed. A refused or malformed hash still costs a dummy check, and :func:`dummy_verify`
repeats the cost of the last hash this process checked, so that response times tell neither
which logins exist nor which hashes are damaged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import logging
import re
from collections.abc import Callable

import argon2
import argon2.exceptions
import argon2.profiles

from gateway.cooperative import off_hub

__all__ = [
    "SCHEMES",
    "PasswordSchemeError",
    "check_scheme",
    "dummy_verify",
    "hash_password",
    "verify",
    "verify_password",
]

log = logging.getLogger("gateway.auth")

SCHEMES = ("bcrypt", "argon2", "pbkdf2_sha256", "auto")
"""The schemes :func:`verify` knows (the sql connector's ``password_scheme`` option)."""

BCRYPT_MISSING = "bcrypt hashes need the bcrypt package: pip install 'broker-gateway[sql]'"

MAX_BCRYPT_COST = 16
"""Highest bcrypt cost checked: 2^16 rounds take seconds; deployments use 10 to 14."""

MAX_PBKDF2_ITERATIONS = 5_000_000
"""Highest PBKDF2 iteration count checked: about four times Django 6's 1,200,000."""

MAX_ARGON2_MEMORY_KIB = 2 * 1024 * 1024
"""Highest Argon2 memory cost checked: RFC 9106's first recommendation (2 GiB)."""

MAX_ARGON2_TIME_COST = 16
MAX_ARGON2_PARALLELISM = 64

BCRYPT_PASSWORD_BYTES = 72
"""bcrypt reads only this many bytes of a password. Hashes made by PHP, passlib or bcrypt < 5
were made from the first 72 bytes, so longer passwords are cut the same way (bcrypt 5 raises
instead of cutting)."""

_BCRYPT = re.compile(r"\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}")  # [0-9]: \d takes any digit
_DJANGO = re.compile(r"pbkdf2_sha256\$([1-9][0-9]{0,9})\$([^$]+)\$([A-Za-z0-9+/]{43}=)")
_PASSLIB = re.compile(r"\$pbkdf2-sha256\$([1-9][0-9]{0,9})\$([./A-Za-z0-9]*)\$([./A-Za-z0-9]{43})")
_ARGON2_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$")
_DUMMY_PASSWORD = b"not a password"

_ARGON2 = argon2.PasswordHasher()

# The cost of the dummy check, per configured scheme: that of the last hash checked (a
# broker's table normally holds one cost), else the default of the scheme's usual makers.
_Cost = tuple[str, object]
_DEFAULT_COSTS: dict[str, _Cost] = {
    "bcrypt": ("bcrypt", 12),
    "argon2": ("argon2", argon2.profiles.RFC_9106_LOW_MEMORY),  # argon2-cffi's default
    "pbkdf2_sha256": ("pbkdf2", 1_000_000),  # Django 5.2's
    "auto": ("argon2", argon2.profiles.RFC_9106_LOW_MEMORY),
}
_last_costs: dict[str, _Cost] = {}
# Dummy hashes made for each cost met, by cost: made once, they hold no user's data.
_dummies: dict[object, bytes | str] = {}


def hash_password(password: str) -> str:
    """A new salted Argon2id hash of ``password``."""
    return _ARGON2.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``, whatever its scheme (None: an unknown user).

    An unknown user, a malformed hash and a wrong password cost about the same time. A bcrypt
    hash without the bcrypt package is logged and refused.
    """
    return off_hub(_verify_password, stored, password)


def _verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        dummy_verify("auto")
        return False
    try:
        return verify("auto", stored, password)
    except PasswordSchemeError as exc:
        log.error("%s", exc)
        return False


class PasswordSchemeError(RuntimeError):
    """A scheme this installation cannot check (bcrypt without its package)."""


def check_scheme(scheme: str) -> str | None:
    """Why ``scheme`` cannot be used here, or None (for the configuration check).

    ``auto`` passes without bcrypt: a table without bcrypt hashes does not need it, and a
    bcrypt hash met later raises :class:`PasswordSchemeError`.
    """
    if scheme not in SCHEMES:
        return f"unknown password scheme {scheme!r} (expected one of: {', '.join(SCHEMES)})"
    if scheme == "bcrypt" and not _has_bcrypt():
        return BCRYPT_MISSING
    return None


def verify(scheme: str, stored: str | bytes | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash of ``scheme`` (False for bad input).

    ``stored`` None is an unknown user: False at once (the caller runs :func:`dummy_verify`).
    Raises only :class:`PasswordSchemeError`, for a bcrypt hash without the bcrypt package.
    Under a gevent worker the hash is computed on a native thread (:mod:`gateway.cooperative`).
    """
    return off_hub(_verify, scheme, stored, password)


def _verify(scheme: str, stored: str | bytes | None, password: str) -> bool:
    if stored is None or scheme not in SCHEMES or not isinstance(password, str):
        return False
    text = _text(stored)
    if text is None:
        dummy_verify(scheme)
        return False
    check = _recognise(scheme, text)
    if check is None:
        dummy_verify(scheme)
        return False
    try:
        encoded = password.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no hash was ever made of such a string
        dummy_verify(scheme)
        return False
    return check(scheme, text, encoded)


def dummy_verify(scheme: str) -> None:
    """Spend about the time of a real check of ``scheme``, for an unknown login.

    It repeats the cost of the last hash :func:`verify` checked for the same scheme, or the
    usual default of the scheme before any.
    """
    off_hub(_dummy_verify, scheme)


def _dummy_verify(scheme: str) -> None:
    kind, cost = _last_costs.get(scheme) or _DEFAULT_COSTS.get(scheme, _DEFAULT_COSTS["auto"])
    if kind == "bcrypt":
        assert isinstance(cost, int)
        _bcrypt_checkpw(_DUMMY_PASSWORD, _bcrypt_dummy(cost))
    elif kind == "argon2":
        assert isinstance(cost, argon2.Parameters)
        _argon2_check(_argon2_dummy(cost), _DUMMY_PASSWORD)
    else:
        assert isinstance(cost, int)
        hashlib.pbkdf2_hmac("sha256", _DUMMY_PASSWORD, b"dummy salt", cost)


# -- recognising ---------------------------------------------------------------------------

_Check = Callable[[str, str, bytes], bool]


def _text(stored: object) -> str | None:
    # Drivers return binary columns as bytes (or memoryview); CHAR(n) columns may come padded.
    if isinstance(stored, bytes | bytearray | memoryview):
        try:
            stored = bytes(stored).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(stored, str):
        return None
    return stored.strip(" \t\r\n")


def _recognise(scheme: str, text: str) -> _Check | None:
    if text.startswith(("$2a$", "$2b$", "$2y$")):
        found, check = "bcrypt", _check_bcrypt
    elif text.startswith(_ARGON2_PREFIXES):
        found, check = "argon2", _check_argon2
    elif text.startswith(("pbkdf2_sha256$", "$pbkdf2-sha256$")):
        found, check = "pbkdf2_sha256", _check_pbkdf2
    else:
        return None
    return check if scheme in (found, "auto") else None


def _refused(scheme: str, kind: str, what: str, value: int, limit: int) -> bool:
    # A well-formed hash above the limits: logged (without the hash), so that a locked-out
    # user's cause is findable, and checked against a dummy so that it costs the usual time.
    log.warning("a %s hash with %s %d is above the limit %d: refused", kind, what, value, limit)
    dummy_verify(scheme)
    return False


# -- bcrypt -------------------------------------------------------------------------------


def _has_bcrypt() -> bool:
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        return False
    return True


def _bcrypt_checkpw(password: bytes, stored: bytes) -> bool:
    try:
        import bcrypt
    except ImportError:
        raise PasswordSchemeError(BCRYPT_MISSING) from None
    try:
        return bcrypt.checkpw(password[:BCRYPT_PASSWORD_BYTES], stored)
    except ValueError:  # an invalid salt the pattern let through
        return False


def _bcrypt_dummy(cost: int) -> bytes:
    key = ("bcrypt", cost)
    if key not in _dummies:
        try:
            import bcrypt
        except ImportError:
            raise PasswordSchemeError(BCRYPT_MISSING) from None
        _dummies[key] = bcrypt.hashpw(_DUMMY_PASSWORD, bcrypt.gensalt(cost))
    dummy = _dummies[key]
    assert isinstance(dummy, bytes)
    return dummy


def _check_bcrypt(scheme: str, text: str, password: bytes) -> bool:
    match = _BCRYPT.fullmatch(text)
    if match is None or int(match[1]) < 4:  # bcrypt's own minimum cost is 4
        dummy_verify(scheme)
        return False
    cost = int(match[1])
    if cost > MAX_BCRYPT_COST:
        return _refused(scheme, "bcrypt", "cost", cost, MAX_BCRYPT_COST)
    _last_costs[scheme] = ("bcrypt", cost)
    # checkpw compares in constant time itself.
    return _bcrypt_checkpw(password, text.encode("ascii"))


# -- Argon2 -------------------------------------------------------------------------------


def _argon2_check(stored: str, password: bytes) -> bool:
    try:
        return _ARGON2.verify(stored, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def _argon2_dummy(parameters: argon2.Parameters) -> str:
    key = dataclasses.astuple(parameters)  # Parameters is not hashable
    if key not in _dummies:
        hasher = argon2.PasswordHasher.from_parameters(parameters)
        _dummies[key] = hasher.hash(_DUMMY_PASSWORD)
    dummy = _dummies[key]
    assert isinstance(dummy, str)
    return dummy


def _check_argon2(scheme: str, text: str, password: bytes) -> bool:
    try:
        # isascii: extract_parameters accepts other letters, which verify() then fails to
        # encode (a UnicodeEncodeError, not one of argon2's own errors).
        if not text.isascii():
            raise argon2.exceptions.InvalidHashError
        parameters = argon2.extract_parameters(text)
    except (argon2.exceptions.InvalidHashError, ValueError):
        dummy_verify(scheme)
        return False
    for what, value, limit in (
        ("memory cost (KiB)", parameters.memory_cost, MAX_ARGON2_MEMORY_KIB),
        ("time cost", parameters.time_cost, MAX_ARGON2_TIME_COST),
        ("parallelism", parameters.parallelism, MAX_ARGON2_PARALLELISM),
    ):
        if value > limit:
            return _refused(scheme, "argon2", what, value, limit)
    _last_costs[scheme] = ("argon2", parameters)
    # argon2-cffi compares in constant time itself.
    return _argon2_check(text, password)


# -- PBKDF2-SHA256 --------------------------------------------------------------------------


def _check_pbkdf2(scheme: str, text: str, password: bytes) -> bool:
    parsed = _parse_pbkdf2(text)
    if parsed is None:
        dummy_verify(scheme)
        return False
    iterations, salt, expected = parsed
    if iterations > MAX_PBKDF2_ITERATIONS:
        return _refused(scheme, "pbkdf2_sha256", "iterations", iterations, MAX_PBKDF2_ITERATIONS)
    _last_costs[scheme] = ("pbkdf2", iterations)
    actual = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return hmac.compare_digest(actual, expected)


def _parse_pbkdf2(text: str) -> tuple[int, bytes, bytes] | None:
    """Iterations, salt and digest of either format, or None when malformed."""
    try:
        if match := _DJANGO.fullmatch(text):
            # Django uses the salt's text as the salt, and standard base64 for the digest.
            salt = match[2].encode("utf-8")
            digest = base64.b64decode(match[3], validate=True)
        elif match := _PASSLIB.fullmatch(text):
            # passlib's "adapted base64": "." for "+", no padding, for salt and digest alike.
            salt, digest = _ab64(match[2]), _ab64(match[3])
        else:
            return None
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(digest) != hashlib.sha256().digest_size:
        return None
    return int(match[1]), salt, digest


def _ab64(text: str) -> bytes:
    padded = text.replace(".", "+") + "=" * (-len(text) % 4)
    return base64.b64decode(padded, validate=True)
