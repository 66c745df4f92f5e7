"""Certificates, RS256 assertions and client secrets of TradingView's JWT-assertion flow."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey

from gateway.auth.oauth.certificates import (
    certificate_problem,
    hash_client_secret,
    load_certificate,
    make_test_certificate,
    new_client_secret,
    public_key_pem,
    sign_assertion,
    thumbprint,
    verify_client_secret,
)
from gateway.auth.passwords import hash_password

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
CLAIMS = {
    "client_id": "tv-demo",
    "subject": "TV-USER-1",
    "audience": "https://gw.example/api/oauth/token",
    "app_url": "https://www.tradingview.com/",
}


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return make_test_certificate("tradingview-test", days=30, now=NOW)


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(pair: tuple[str, str], now: float = 1_800_000_000.7) -> str:
    return sign_assertion(*pair, **CLAIMS, ttl_seconds=300, now=now)


def test_thumbprint_is_the_base64url_sha1_of_the_der(pair: tuple[str, str]) -> None:
    der = x509.load_pem_x509_certificate(pair[1].encode()).public_bytes(serialization.Encoding.DER)
    expected = _b64(hashlib.sha1(der, usedforsecurity=False).digest())
    assert thumbprint(pair[1]) == expected
    assert len(expected) == 27 and "=" not in expected  # 20 bytes, unpadded


def test_test_certificate_is_self_signed_rsa_2048_for_the_given_days(
    pair: tuple[str, str],
) -> None:
    key_pem, cert_pem = pair
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS8, not encrypted
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    cert = load_certificate(cert_pem)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=tradingview-test"
    assert cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_before_utc + timedelta(minutes=10)
    assert cert.not_valid_after_utc == NOW + timedelta(days=30)


def test_assertion_verifies_against_the_certificate_and_has_exactly_the_fields(
    pair: tuple[str, str],
) -> None:
    assertion = _sign(pair)
    token = jwt.decode(assertion, RSAKey.import_key(public_key_pem(pair[1])), algorithms=["RS256"])
    assert token.header == {"alg": "RS256", "x5t": thumbprint(pair[1]), "typ": "JWT"}
    assert token.claims == {
        "iss": "tv-demo",
        "sub": "TV-USER-1",
        "aud": "https://gw.example/api/oauth/token",
        "iat": 1_800_000_000,
        "exp": 1_800_000_300,
        "spurl": "https://www.tradingview.com/",
    }
    # The same signature checked without joserfc: RSASSA-PKCS1-v1_5 over SHA-256 (RS256).
    signing_input, _, signature = assertion.rpartition(".")
    public = load_certificate(pair[1]).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        signing_input.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_a_tampered_assertion_fails_verification(pair: tuple[str, str]) -> None:
    key = RSAKey.import_key(public_key_pem(pair[1]))
    header, payload, signature = _sign(pair).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "SOMEONE-ELSE"
    forged = _b64(json.dumps(claims).encode())
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", key, algorithms=["RS256"])
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload}.{flipped}", key, algorithms=["RS256"])
    # Signed by another key: refused as well.
    other = make_test_certificate("intruder", now=NOW)
    with pytest.raises(BadSignatureError):
        jwt.decode(_sign(other), key, algorithms=["RS256"])


def test_signing_refuses_a_key_that_is_not_the_certificates(pair: tuple[str, str]) -> None:
    other_key, _ = make_test_certificate("other", now=NOW)
    with pytest.raises(ValueError, match=r"^the private key does not belong to the certificate$"):
        sign_assertion(other_key, pair[1], **CLAIMS, ttl_seconds=300, now=0)
    with pytest.raises(ValueError, match=r"^not an unencrypted PEM private key$"):
        sign_assertion(pair[1], pair[1], **CLAIMS, ttl_seconds=300, now=0)
    encrypted = serialization.load_pem_private_key(pair[0].encode(), None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ValueError, match=r"^not an unencrypted PEM private key$"):
        sign_assertion(encrypted.decode(), pair[1], **CLAIMS, ttl_seconds=300, now=0)


def test_public_key_pem_is_the_certificates_key(pair: tuple[str, str]) -> None:
    pem = public_key_pem(pair[1])
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    key = serialization.load_pem_private_key(pair[0].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    loaded = serialization.load_pem_public_key(pem.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == key.public_key().public_numbers()


def test_certificate_problem_accepts_rsa_2048(pair: tuple[str, str]) -> None:
    assert certificate_problem(pair[1]) is None
    # As a {$file: …} secret arrives: trailing newline stripped.
    assert certificate_problem(pair[1].rstrip("\n")) is None


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: "hello", "not a PEM X.509 certificate"),
        (lambda: "", "not a PEM X.509 certificate"),
        (
            lambda: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "not a PEM X.509 certificate",
        ),
        (
            lambda: _self_signed(ec.generate_private_key(ec.SECP256R1())),
            "the certificate's key is not RSA (TradingView signs with RS256)",
        ),
        (
            lambda: _self_signed(rsa.generate_private_key(65537, 1024)),  # noqa: S505 (the point)
            "key shorter than 2048 bits (1024)",
        ),
    ],
    ids=["garbage", "empty", "bad-der", "ec", "rsa-1024"],
)
def test_certificate_problem_refuses(make: Callable[[], str], reason: str) -> None:
    pem = make()
    assert certificate_problem(pem) == reason
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        load_certificate(pem)


def test_a_private_key_is_not_a_certificate(pair: tuple[str, str]) -> None:
    assert certificate_problem(pair[0]) == "not a PEM X.509 certificate"
    with pytest.raises(ValueError, match=r"^not a PEM X\.509 certificate$"):
        thumbprint(pair[0])


def test_client_secrets_are_random_and_hashed_with_sha256() -> None:
    secrets = {new_client_secret() for _ in range(20)}
    assert len(secrets) == 20
    secret = secrets.pop()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # 32 bytes, base64url
    stored = hash_client_secret(secret)
    assert stored == "sha256$" + hashlib.sha256(secret.encode()).hexdigest()
    assert verify_client_secret(stored, secret)
    assert not verify_client_secret(stored, secret + "x")
    assert not verify_client_secret(stored, "")
    assert not verify_client_secret(stored.upper(), secret)


def test_client_secret_hashes_of_passwords_are_accepted() -> None:
    stored = hash_password("a human chose this")
    assert stored.startswith("$argon2id$")
    assert verify_client_secret(stored, "a human chose this")
    assert not verify_client_secret(stored, "a human chose that")
    digest = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1000)
    pbkdf2 = f"pbkdf2_sha256$1000$salt${base64.b64encode(digest).decode()}"
    assert verify_client_secret(pbkdf2, "pw") and not verify_client_secret(pbkdf2, "pw2")


@pytest.mark.parametrize("stored", ["s3cret", "md5$s3cret", "sha256$", "sha256$s3cret", "é"])
def test_unknown_client_secret_hashes_match_nothing(stored: str) -> None:
    # A secret pasted in place of its hash must not become a working plain-text secret.
    assert not verify_client_secret(stored, "s3cret")
    assert not verify_client_secret(stored, stored)
