"""X.509 certificates and RS256 assertions of TradingView's JWT-assertion flow; client secrets.

TradingView's data servers (ServerOAuth2Bearer) sign a JWT with a private key whose certificate
the broker registered, name that certificate by its SHA-1 thumbprint in the ``x5t`` header and
send it with a client id and secret to the token URL. This module checks such certificates,
makes test key pairs, signs assertions as TradingView would, and hashes the client secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.auth.passwords import verify_password

# NIST SP 800-131A: RSA keys under 2048 bits are disallowed for signatures.
_MIN_RSA_BITS = 2048
_SHA256_PREFIX = "sha256$"
# A test certificate is valid from a little before now, so that a verifier whose clock is
# slightly behind the machine that made it does not see it as not yet valid.
_BACKDATE = timedelta(minutes=5)


def _parse(certificate_pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(certificate_pem.encode("utf-8", "surrogatepass"))
    except ValueError:
        raise ValueError("not a PEM X.509 certificate") from None


def _rsa_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None  # a key type cryptography does not know is not RSA either
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the certificate's key is not RSA (TradingView signs with RS256)")
    if key.key_size < _MIN_RSA_BITS:
        raise ValueError(f"key shorter than {_MIN_RSA_BITS} bits ({key.key_size})")
    return key


def load_certificate(certificate_pem: str) -> x509.Certificate:
    """The certificate, if TradingView can sign with its key: RSA of at least 2048 bits."""
    certificate = _parse(certificate_pem)
    _rsa_key(certificate)
    return certificate


def certificate_problem(certificate_pem: str) -> str | None:
    """Why the certificate cannot verify TradingView's assertions, or None when it can."""
    try:
        load_certificate(certificate_pem)
    except ValueError as exc:
        return str(exc)
    return None


def thumbprint(certificate_pem: str) -> str:
    """The certificate's ``x5t``: base64url, unpadded, of the SHA-1 of its DER (RFC 7515 §4.1.7)."""
    der = _parse(certificate_pem).public_bytes(serialization.Encoding.DER)
    # SHA-1 is what x5t is defined as: it names the certificate, it secures nothing.
    digest = hashlib.sha1(der, usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def public_key_pem(certificate_pem: str) -> str:
    """The certificate's RSA public key as PEM (SubjectPublicKeyInfo)."""
    key = _rsa_key(_parse(certificate_pem))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def make_test_certificate(
    common_name: str,
    days: int = 365,
    now: datetime | None = None,
    ip_addresses: Sequence[str] = (),
) -> tuple[str, str]:
    """A new RSA-2048 key (PKCS8 PEM, unencrypted) and its self-signed certificate (PEM).

    ``ip_addresses`` go in its subjectAltName, for a TLS server reached by address.
    """
    start = (now or datetime.now(UTC)) - _BACKDATE
    key = rsa.generate_private_key(public_exponent=65537, key_size=_MIN_RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _BACKDATE + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if ip_addresses:
        names = [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    return key_pem.decode("ascii"), certificate_pem.decode("ascii")


def _private_key(key_pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(
            key_pem.encode("utf-8", "surrogatepass"), password=None
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # TypeError: the key is encrypted and no password was given.
        raise ValueError("not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not RSA (TradingView signs with RS256)")
    return key


def sign_assertion(
    key_pem: str,
    certificate_pem: str,
    *,
    client_id: str,
    subject: str,
    audience: str,
    app_url: str,
    ttl_seconds: float,
    now: float,
) -> str:
    """A compact RS256 JWT as TradingView's data servers send it to the token URL."""
    public_key = _rsa_key(_parse(certificate_pem))
    key = _private_key(key_pem)
    if key.public_key().public_numbers() != public_key.public_numbers():
        raise ValueError("the private key does not belong to the certificate")
    header = {"alg": "RS256", "x5t": thumbprint(certificate_pem), "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": subject,
        "aud": audience,
        "iat": math.floor(now),
        "exp": math.floor(now + ttl_seconds),
        "spurl": app_url,
    }
    return jwt.encode(header, claims, RSAKey.import_key(key_pem), algorithms=["RS256"])


# Client secrets are generated (new_client_secret: 256 bits from the OS's CSPRNG, as tokens in
# gateway/auth/tokens.py are), so nobody can guess one and a single fast SHA-256 is all the
# stored hash needs: a slow hash protects guessable secrets, and it would make every token
# request cost an Argon2 run. A secret a human chose must instead be hashed with Argon2
# (`gateway hash-password`); such hashes are accepted below.


def new_client_secret() -> str:
    """A new client secret: 256 bits from the OS's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """The stored form of a generated client secret: ``sha256$`` and the hex digest."""
    return _SHA256_PREFIX + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def verify_client_secret(stored: str, given: str) -> bool:
    """Whether ``given`` matches ``stored`` (``sha256$…``, or an Argon2id / PBKDF2 hash)."""
    if stored.startswith(_SHA256_PREFIX):
        expected = stored.encode("utf-8", "surrogatepass")
        actual = hash_client_secret(given).encode("ascii")
        return hmac.compare_digest(actual, expected)
    if stored.startswith(("$argon2", "pbkdf2_sha256$")):
        return verify_password(stored, given)
    return False
