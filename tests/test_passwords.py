"""Password checks: the YAML's users and the sql connector's, against existing hashes."""

from __future__ import annotations

import base64
import hashlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import argon2
import bcrypt
import pytest

from gateway.auth import passwords as _passwords
from gateway.auth.passwords import (
    BCRYPT_MISSING,
    SCHEMES,
    PasswordSchemeError,
    check_scheme,
    dummy_verify,
    hash_password,
    verify,
    verify_password,
)

PASSWORD = "correct horse"
UNICODE = "pässwörd ✓ Ιωαννης 密码"
WITH_NUL = "pass\x00word"


FAST_ARGON2 = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_dummies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Dummy checks default to production costs (a second per malformed hash here); tests
    # start from cheap ones and from no remembered cost.
    monkeypatch.setattr(_passwords, "_last_costs", {})
    cheap = argon2.extract_parameters(FAST_ARGON2.hash("x"))
    for scheme, cost in {
        "bcrypt": ("bcrypt", 4),
        "argon2": ("argon2", cheap),
        "pbkdf2_sha256": ("pbkdf2", 1000),
        "auto": ("argon2", cheap),
    }.items():
        monkeypatch.setitem(_passwords._DEFAULT_COSTS, scheme, cost)


# -- hashes made by the libraries themselves --------------------------------------------------


def bcrypt_hash(password: str | bytes, cost: int = 4) -> str:
    raw = password.encode() if isinstance(password, str) else password
    # Cut at 72 bytes as PHP, passlib and bcrypt < 5 did (bcrypt 5 raises instead).
    return bcrypt.hashpw(raw[:72], bcrypt.gensalt(cost)).decode()


def argon2_hash(password: str, kind: argon2.Type = argon2.Type.ID) -> str:
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=kind)
    return hasher.hash(password)


def django_hash(password: str, iterations: int = 1000, salt: str = "seasalt") -> str:
    # Django's PBKDF2PasswordHasher.encode, written out.
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def ab64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")


def passlib_hash(password: str, rounds: int = 1000, salt: bytes = b"0123456789abcdef") -> str:
    # passlib's pbkdf2_sha256 format, written out (passlib is not a dependency).
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(digest)}"


MAKERS: dict[str, Any] = {
    "bcrypt": bcrypt_hash,
    "argon2": argon2_hash,
    "django": django_hash,
    "passlib": passlib_hash,
}
SCHEME_OF = {"bcrypt": "bcrypt", "argon2": "argon2", "django": "pbkdf2_sha256"}
SCHEME_OF["passlib"] = "pbkdf2_sha256"


# -- right and wrong passwords ----------------------------------------------------------------


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_each_format_verifies_under_its_scheme_and_auto(maker: str) -> None:
    stored = MAKERS[maker](PASSWORD)
    for scheme in (SCHEME_OF[maker], "auto"):
        assert verify(scheme, stored, PASSWORD) is True
        assert verify(scheme, stored, PASSWORD + " ") is False
        assert verify(scheme, stored, PASSWORD.upper()) is False
        assert verify(scheme, stored, "") is False


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_a_hash_of_another_scheme_is_refused(maker: str) -> None:
    stored = MAKERS[maker](PASSWORD)
    for scheme in ("bcrypt", "argon2", "pbkdf2_sha256"):
        if scheme != SCHEME_OF[maker]:
            assert verify(scheme, stored, PASSWORD) is False


@pytest.mark.parametrize("maker", sorted(MAKERS))
@pytest.mark.parametrize("password", [UNICODE, WITH_NUL, "x" * 1_000_000, " ", "\t\n"])
def test_unusual_passwords(maker: str, password: str) -> None:
    stored = MAKERS[maker](password)
    assert verify("auto", stored, password) is True
    assert verify("auto", stored, "!" + password[1:]) is False  # (bcrypt reads 72 bytes)


def test_known_answers_of_the_original_implementations() -> None:
    # Django's own test (auth_tests.test_hashers, 1,000,000 iterations) and passlib's
    # (test_handlers_pbkdf2, known_correct_hashes).
    django = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="
    assert verify("pbkdf2_sha256", django, "lètmein") is True
    assert verify("pbkdf2_sha256", django, "letmein") is False
    passlib = (
        "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"
    )
    assert verify("auto", passlib, "password") is True
    assert verify("auto", passlib, "Password") is False
    greek = "$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI"
    assert verify("auto", greek, "\u0399\u03c9\u03b1\u03bd\u03bd\u03b7\u03c2") is True


@pytest.mark.parametrize("kind", [argon2.Type.ID, argon2.Type.I, argon2.Type.D])
def test_argon2_variants(kind: argon2.Type) -> None:
    stored = argon2_hash(PASSWORD, kind)
    assert verify("argon2", stored, PASSWORD) is True
    assert verify("auto", stored, "wrong") is False


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_variants(prefix: str) -> None:
    # $2a$ (old), $2b$ (current) and $2y$ (PHP's name for $2b$) are the same algorithm for
    # these passwords; $2x$ (PHP's bug-compatible variant) is not accepted.
    stored = prefix + bcrypt_hash(PASSWORD)[4:]
    assert verify("bcrypt", stored, PASSWORD) is True
    assert verify("bcrypt", stored, "wrong") is False
    assert verify("bcrypt", "$2x$" + stored[4:], PASSWORD) is False


def test_bcrypt_reads_72_bytes_as_the_hashes_made_elsewhere_did() -> None:
    long = "é" * 50  # 100 bytes of UTF-8
    stored = bcrypt_hash(long.encode()[:72])  # what PHP, passlib and bcrypt < 5 stored
    assert verify("bcrypt", stored, long) is True
    assert verify("bcrypt", stored, long[:36] + "different tail") is True  # bcrypt's own limit
    assert verify("bcrypt", stored, long[:35]) is False


def test_bcrypt_does_not_cut_at_nul() -> None:
    stored = bcrypt_hash(WITH_NUL)
    assert verify("bcrypt", stored, WITH_NUL) is True
    assert verify("bcrypt", stored, "pass") is False


# -- what the stored value may look like ------------------------------------------------------


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_bytes_memoryview_and_padded_values(maker: str) -> None:
    stored = MAKERS[maker](PASSWORD)
    assert verify("auto", stored.encode(), PASSWORD) is True
    assert verify("auto", bytearray(stored.encode()), PASSWORD) is True  # type: ignore[arg-type]
    assert verify("auto", memoryview(stored.encode()), PASSWORD) is True  # type: ignore[arg-type]
    assert verify("auto", f"  {stored}   ", PASSWORD) is True  # a CHAR(255) column
    assert verify("auto", stored + "\n", PASSWORD) is True


def test_missing_and_odd_values_are_false() -> None:
    for stored in (None, "", " ", b"", b"\xff\xfe", "\x00", "plain text password", 12345):
        for scheme in SCHEMES:
            assert verify(scheme, stored, PASSWORD) is False  # type: ignore[arg-type]
    assert verify("auto", "plain text password", "plain text password") is False
    assert verify("auto", argon2_hash(PASSWORD), b"correct horse") is False  # type: ignore[arg-type]
    assert verify("auto", argon2_hash(PASSWORD), None) is False  # type: ignore[arg-type]


def test_unknown_schemes_are_false() -> None:
    stored = argon2_hash(PASSWORD)
    assert verify("md5", stored, PASSWORD) is False
    assert verify("AUTO", stored, PASSWORD) is False


def test_unencodable_passwords_are_false() -> None:
    for maker in MAKERS.values():
        assert verify("auto", maker(PASSWORD), "\ud800") is False  # a lone surrogate


def truncations(stored: str) -> Iterator[str]:
    yield stored[:-1]
    yield stored[:-4]
    yield stored[: len(stored) // 2]
    yield stored[: stored.index("$", 1) + 1]
    yield stored + "x"
    yield stored + "$"


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_truncated_and_extended_hashes_are_false(maker: str) -> None:
    stored = MAKERS[maker](PASSWORD)
    for damaged in truncations(stored):
        assert verify("auto", damaged, PASSWORD) is False, damaged


@pytest.mark.parametrize(
    "iterations", ["", "0", "-1000", "1.5", "1e3", "abc", " 1000", "١٠٠٠", "0x3e8", "01000"]
)
def test_pbkdf2_iteration_fields(iterations: str) -> None:
    good_django, good_passlib = django_hash(PASSWORD), passlib_hash(PASSWORD)
    django = good_django.replace("$1000$", f"${iterations}$", 1)
    passlib = good_passlib.replace("$1000$", f"${iterations}$", 1)
    assert verify("pbkdf2_sha256", django, PASSWORD) is False
    assert verify("pbkdf2_sha256", passlib, PASSWORD) is False


def test_pbkdf2_other_damage() -> None:
    django = django_hash(PASSWORD)
    head, digest = django.rsplit("$", 1)
    assert verify("auto", f"{head}$!!{digest[2:]}", PASSWORD) is False  # not base64
    assert verify("auto", f"{head}${digest[:-1]}", PASSWORD) is False  # bad padding
    short = base64.b64encode(base64.b64decode(digest)[:16]).decode()
    assert verify("auto", f"{head}${short}", PASSWORD) is False  # a 16-byte digest
    assert verify("auto", "pbkdf2_sha256$1000$$" + digest, PASSWORD) is False  # no salt
    assert verify("auto", django.replace("pbkdf2_sha256", "pbkdf2_sha1"), PASSWORD) is False
    assert verify("auto", "pbkdf2_sha256$1000$seasalt", PASSWORD) is False
    passlib = passlib_hash(PASSWORD)
    assert verify("auto", passlib[:-1] + "+", PASSWORD) is False  # "+" is not ab64
    assert verify("auto", passlib[:-1] + "=", PASSWORD) is False
    salt = passlib.split("$")[3]
    assert verify("auto", passlib.replace(salt, salt + "AAA"), PASSWORD) is False  # 25 chars


@pytest.mark.parametrize(
    "stored",
    [
        "$argon2id$",
        "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
        "$argon2id$v=19$m=8,t=1,p=1$!!!$aGFzaGhhc2g",
        "$argon2x$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$2b$04$",
        "$2b$04$" + "." * 52,
        "$2b$4$" + "." * 53,
        "$2b$aa$" + "." * 53,
        "$2b$04$" + "!" * 53,
        "$2b$03$" + "." * 53,  # below bcrypt's minimum cost
        "$2b$\u0661\u0662$" + "." * 53,  # Arabic-Indic digits: 12 to int(), not ASCII
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ\u00e9$aGFzaGhhc2g",  # non-ASCII
    ],
)
def test_malformed_argon2_and_bcrypt(stored: str) -> None:
    assert verify("auto", stored, PASSWORD) is False


# -- costs ------------------------------------------------------------------------------------


def test_absurd_costs_are_refused_without_computing_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bcrypt_31 = "$2b$31$" + bcrypt_hash(PASSWORD)[7:]  # 2^31 rounds: hours
    argon2_4g = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
    argon2_t = "$argon2id$v=19$m=8,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
    argon2_p = "$argon2id$v=19$m=8192,t=1,p=255$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
    pbkdf2_huge = django_hash(PASSWORD).replace("$1000$", "$9999999999$")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gateway.connectors.sql"):
        for stored in (bcrypt_31, argon2_4g, argon2_t, argon2_p, pbkdf2_huge):
            assert verify("auto", stored, PASSWORD) is False
    assert time.monotonic() - started < 5
    messages = [r.getMessage() for r in caplog.records]
    assert any("bcrypt hash with cost 31 is above the limit 16" in m for m in messages)
    assert any("memory cost (KiB) 4194304" in m for m in messages)
    assert any("iterations 9999999999" in m for m in messages)
    assert not any("$2b$" in m or "argon2id$" in m for m in messages)  # no hash in logs


def test_ordinary_costs_pass_the_limits() -> None:
    assert verify("auto", django_hash(PASSWORD, iterations=600_000), PASSWORD) is True
    hasher = argon2.PasswordHasher()  # argon2-cffi's defaults (64 MiB, t=3, p=4)
    assert verify("auto", hasher.hash(PASSWORD), PASSWORD) is True


# -- dummy checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", [*SCHEMES, "unknown"])
def test_dummy_verify_runs_for_every_scheme(scheme: str) -> None:
    dummy_verify(scheme)  # no exception, whatever the scheme


def test_dummy_verify_repeats_the_cost_of_the_last_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    django, passlib = django_hash(PASSWORD, iterations=1234), passlib_hash(PASSWORD, rounds=1500)
    seen: list[int] = []
    real = hashlib.pbkdf2_hmac

    def spy(name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        seen.append(iterations)
        return real(name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", spy)
    dummy_verify("pbkdf2_sha256")
    assert seen == [1000]  # the (patched) default before any hash
    verify("pbkdf2_sha256", django, "wrong")
    dummy_verify("pbkdf2_sha256")
    assert seen == [1000, 1234, 1234]
    verify("auto", passlib, "wrong")
    dummy_verify("auto")
    dummy_verify("pbkdf2_sha256")  # remembered per configured scheme
    assert seen[-3:] == [1500, 1500, 1234]


def test_dummy_verify_repeats_the_bcrypt_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    costs: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, stored: bytes) -> bool:
        costs.append(stored[:7])
        return real(password, stored)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    verify("bcrypt", bcrypt_hash(PASSWORD, cost=5), PASSWORD)
    dummy_verify("bcrypt")
    assert costs == [b"$2b$05$", b"$2b$05$"]


def test_damaged_hashes_cost_a_dummy_check_but_unknown_users_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(_passwords, "dummy_verify", calls.append)
    verify("auto", None, PASSWORD)
    assert calls == []  # an unknown user: the caller's dummy_verify
    for stored in ("", "garbage", "$2b$04$short", "pbkdf2_sha256$x$y$z", b"\xff"):
        verify("auto", stored, PASSWORD)
    verify("bcrypt", argon2_hash(PASSWORD), PASSWORD)  # another scheme's hash
    assert calls == ["auto"] * 5 + ["bcrypt"]


# -- the bcrypt package -----------------------------------------------------------------------


def test_check_scheme() -> None:
    for scheme in SCHEMES:
        assert check_scheme(scheme) is None
    assert "unknown password scheme 'md5'" in (check_scheme("md5") or "")


def test_without_the_bcrypt_package(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = bcrypt_hash(PASSWORD)
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # import bcrypt now raises ImportError
    assert check_scheme("bcrypt") == BCRYPT_MISSING
    assert BCRYPT_MISSING == (
        "bcrypt hashes need the bcrypt package: pip install 'broker-gateway[sql]'"
    )
    assert check_scheme("auto") is None  # tables without bcrypt hashes do not need it
    # A bcrypt hash then is a deployment error, not a wrong password.
    with pytest.raises(PasswordSchemeError, match="pip install"):
        verify("bcrypt", stored, PASSWORD)
    with pytest.raises(PasswordSchemeError):
        verify("auto", stored, PASSWORD)
    with pytest.raises(PasswordSchemeError):
        dummy_verify("bcrypt")
    assert verify("auto", argon2_hash(PASSWORD), PASSWORD) is True
    assert verify("auto", django_hash(PASSWORD), PASSWORD) is True


def test_the_yaml_s_users_take_every_scheme_the_connector_does() -> None:
    assert verify_password(hash_password(PASSWORD), PASSWORD)
    assert not verify_password(hash_password(PASSWORD), PASSWORD + "x")
    made = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    assert verify_password(made, PASSWORD) and not verify_password(made, "wrong")
    salt = b"NaCl"
    digest = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000)
    ab64 = base64.b64encode(digest).decode().rstrip("=").replace("+", ".")
    passlib = f"$pbkdf2-sha256$1000${base64.b64encode(salt).decode().rstrip('=')}${ab64}"
    assert verify_password(passlib, PASSWORD)
    django = f"pbkdf2_sha256$1000$NaCl${base64.b64encode(digest).decode()}"
    assert verify_password(django, PASSWORD)
    for stored in (None, "", "plain text", "$2b$99$" + "a" * 53, "pbkdf2_sha256$0$s$x"):
        assert not verify_password(stored, PASSWORD)


def test_a_bcrypt_hash_without_the_package_is_refused_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    made = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # import bcrypt now fails
    with caplog.at_level(logging.ERROR, "gateway.auth"):
        assert not verify_password(made, PASSWORD)
    assert BCRYPT_MISSING in caplog.text


def test_a_yaml_user_with_a_bcrypt_hash_logs_in(tmp_path: Any) -> None:
    import webtest

    from gateway.app import build
    from gateway.config import load_config

    made = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "version: 1\nbroker: {name: B}\n"
        f"store: {{url: 'sqlite:///{tmp_path / 'gw.db'}'}}\n"
        "accounts: [{id: A, name: A, type: demo}]\n"
        f"users: [{{login: ann, password_hash: '{made}', accounts: [A]}}]\n"
    )
    app = webtest.TestApp(build(load_config(path)).app)
    good = app.post("/authorize", {"login": "ann", "password": PASSWORD}).json
    assert good["s"] == "ok" and good["d"]["access_token"]
    bad = app.post("/authorize", {"login": "ann", "password": "wrong"}).json
    assert bad["s"] == "error"
