"""The ``gateway`` commands of OAuth2: clients, data-server credentials, test keys and JWTs."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from gateway.auth.oauth import certificates
from gateway.config.oauth import client_id_problem, url_problem, urn_problem


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return int(value)


def _checked(problem_of: Any) -> Any:
    # The loader's own checks: a value it would refuse must not end up in a pasted snippet.
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{value!r}: {problem}")
        return value

    return check


_client_id = _checked(client_id_problem)
_urn = _checked(urn_problem)


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def _read(path: str, certificate: bool = False) -> str | None:
    """The PEM text in ``path`` (a usable certificate), or None after one line on stderr."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "binary, not PEM"
        print(f"gateway: cannot read {path}: {reason}", file=sys.stderr)
        return None
    problem = certificates.certificate_problem(text) if certificate else None
    if problem:
        print(f"gateway: {path}: {problem}", file=sys.stderr)
        return None
    return text


def _new_client(client_id: str | None, section: str, rest: dict[str, object]) -> None:
    """Print a new client's id and secret, once, and its entry for the configuration."""
    client_id = client_id or f"tv-{secrets.token_hex(4)}"
    secret = certificates.new_client_secret()
    print(f"client_id:     {client_id}\nclient_secret: {secret}\n")
    print(
        "The secret is shown only now: the gateway keeps only its hash. Give both to TradingView."
    )
    entry = {"client_id": client_id, "client_secret_hash": certificates.hash_client_secret(secret)}
    snippet = yaml.safe_dump([entry | rest], sort_keys=False, default_flow_style=None, width=1000)
    print(f"\nPaste under {section}:\n\n{snippet}", end="")


def cmd_oauth_client(args: argparse.Namespace) -> int:
    """Create a client of the Code / Implicit flow: its secret once, its configuration entry."""
    entry: dict[str, object] = {"redirect_uris": args.redirect_uri}
    if args.return_to:
        entry["logout_return_to"] = args.return_to
    entry["response_types"] = list(dict.fromkeys(args.response_type or ["code"]))
    _new_client(args.client_id, "auth.oauth.clients", entry)
    return 0


def cmd_server_client(args: argparse.Namespace) -> int:
    """Create credentials of TradingView's data servers for the JWT-assertion flow."""
    pem = _read(args.certificate, certificate=True)
    if pem is None:
        return 2
    entry: dict[str, object] = {"certificate": {"$file": args.certificate}}
    entry |= {"subject": args.subject, "app_url": args.app_url, "grant_type": args.grant_type}
    _new_client(args.client_id, "auth.oauth.servers", entry)
    print(f"\nThe certificate's x5t: {certificates.thumbprint(pem)}")
    if not Path(args.certificate).is_absolute():
        print("A relative $file path is read from the configuration file's directory.")
    return 0


def cmd_test_certificate(args: argparse.Namespace) -> int:
    """Write a key and a self-signed certificate for trying the JWT-assertion flow."""
    key_path, cert_path = Path(args.dir, f"{args.name}.key"), Path(args.dir, f"{args.name}.crt")
    for path in (key_path, cert_path):
        if path.exists() and not args.force:
            print(f"gateway: {path} exists; pass --force to replace it", file=sys.stderr)
            return 2
    key_pem, cert_pem = certificates.make_test_certificate(args.name, days=args.days)
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.unlink(missing_ok=True)
        # Created 0600 (O_EXCL: never through a link planted in its place), not chmod-ed after
        # the key has been readable by others for a moment.
        with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(key_pem)
        cert_path.write_text(cert_pem, encoding="ascii")
    except OSError as exc:
        print(f"gateway: cannot write {exc.filename or args.dir}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"private key: {key_path}\ncertificate: {cert_path}")
    print(f"x5t:         {certificates.thumbprint(cert_pem)}\n")
    print("For trying the JWT-assertion flow (gateway test-assertion), not for production:")
    print("there the certificate is that of the key TradingView signs with.")
    return 0


def cmd_test_assertion(args: argparse.Namespace) -> int:
    """Print a JWT assertion as TradingView's data servers would send it; nothing else."""
    key_pem, cert_pem = _read(args.key), _read(args.cert, certificate=True)
    if key_pem is None or cert_pem is None:
        return 2
    try:
        assertion = certificates.sign_assertion(
            key_pem,
            cert_pem,
            client_id=args.client_id,
            subject=args.subject,
            audience=args.audience,
            app_url=args.app_url,
            ttl_seconds=args.ttl,
            now=time.time(),
        )
    except ValueError as exc:
        print(f"gateway: {args.key}: {exc}", file=sys.stderr)
        return 2
    print(assertion)
    return 0


def add_commands(sub: Any) -> None:
    """Add the OAuth2 commands to the ``gateway`` command line's subparsers."""
    oc = sub.add_parser("oauth-client", help="create a client of the Code / Implicit flow")
    sc = sub.add_parser("server-client", help="create credentials of TradingView's data servers")
    for sp in (oc, sc):
        sp.add_argument("--client-id", type=_client_id, help="default: tv- and 8 random hex digits")
    oc.add_argument("--redirect-uri", type=_url, action="append", required=True, metavar="URI")
    oc.add_argument("--return-to", type=_url, action="append", metavar="URI", help="logout")
    oc.add_argument("--response-type", choices=("code", "token"), action="append")
    oc.set_defaults(func=cmd_oauth_client)
    sc.add_argument("--certificate", required=True, metavar="PATH", help="PEM X.509 certificate")
    sc.add_argument("--subject", required=True, metavar="USERID", help="the assertion's sub")
    sc.add_argument("--app-url", required=True, metavar="URL", help="the assertion's spurl")
    sc.add_argument("--grant-type", type=_urn, required=True, metavar="URN")
    sc.set_defaults(func=cmd_server_client)

    tc = sub.add_parser("test-certificate", help="write a test key and self-signed certificate")
    tc.add_argument("dir", help="directory for NAME.key and NAME.crt")
    tc.add_argument("--name", default="tradingview-demo")
    tc.add_argument("--days", type=_positive, default=365, help="validity")
    tc.add_argument("--force", action="store_true", help="replace existing files")
    tc.set_defaults(func=cmd_test_certificate)

    ta = sub.add_parser("test-assertion", help="print a signed JWT assertion for a test")
    ta.add_argument("--key", required=True, metavar="PATH", help="PEM private key")
    ta.add_argument("--cert", required=True, metavar="PATH", help="its PEM certificate")
    ta.add_argument("--client-id", required=True, help="the assertion's iss")
    ta.add_argument("--subject", required=True, metavar="USERID", help="the assertion's sub")
    ta.add_argument("--audience", required=True, metavar="TOKEN_URL", help="the assertion's aud")
    ta.add_argument("--app-url", required=True, metavar="URL", help="the assertion's spurl")
    ta.add_argument("--ttl", type=_positive, default=300, metavar="SECONDS", help="lifetime")
    ta.set_defaults(func=cmd_test_assertion)
