"""The ``gateway`` command: serve, check, db, hash-password, schema (OAuth2: cli_oauth.py)."""

from __future__ import annotations

import argparse
import getpass
import importlib.metadata
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from gateway import __version__
from gateway.app import build
from gateway.auth.passwords import hash_password
from gateway.cli_conformance import add_command as add_conformance
from gateway.cli_oauth import add_commands
from gateway.config.dump import dump_config
from gateway.config.jsonschema import config_json_schema
from gateway.config.loader import ConfigError, load_config, read_source
from gateway.config.model import GatewayConfig
from gateway.config.reference import config_reference
from gateway.logs import log_format
from gateway.metrics import MULTIPROC_ENV, prepare_multiprocess_dir, remove_multiprocess_dir
from gateway.plugins.registry import PluginError, Registry
from gateway.store import migrate


def _vars(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"gateway: --var takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def _load(args: argparse.Namespace, registry: Registry) -> GatewayConfig | None:
    try:
        return load_config(args.config, variables=_vars(args.var), registry=registry)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return value


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return int(value)


def connector_problems(connectors: dict[str, Any]) -> list[str]:
    """What connectors find wrong with their own inputs (files, ...), without starting them."""
    problems: list[str] = []
    for name, connector in connectors.items():
        validate = getattr(connector, "validate", None)
        if callable(validate):
            problems += [f"connectors.{name}: {p}" for p in validate()]
    return problems


def connection_problems(connectors: dict[str, Any]) -> list[str]:
    """What connectors find wrong when they connect (``gateway check --connect``).

    A connector with ``check_connection`` tries its declarations against its real back end
    (read-only) and reports each problem with the YAML line of the declaration.
    """
    problems: list[str] = []
    for connector in connectors.values():
        check = getattr(connector, "check_connection", None)
        if callable(check):
            try:
                problems += check()
            finally:
                connector.stop()  # what the check opened
    return problems


def cmd_db(args: argparse.Namespace) -> int:
    """Upgrade the store's schema ahead of a deploy, or show its revision."""
    config = _load(args, Registry.discover())
    if config is None:
        return 1
    url = config.store.url.reveal()
    try:
        if args.action == "upgrade":
            migrate.upgrade(url)
        current = migrate.current_revision(url)
    except (migrate.SchemaError, sa.exc.SQLAlchemyError) as exc:
        # The URL may hold a password: name the error, never the URL.
        print(f"{args.config}: store: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    head = migrate.head_revision()
    print(f"store revision: {current or 'none'} (newest: {head})")
    return 0 if args.action == "current" or current == head else 1


def cmd_check(args: argparse.Namespace) -> int:
    """Build exactly what serve would build, print it, serve nothing."""
    if args.render:
        try:
            print(read_source(Path(args.config), _vars(args.var)), end="")
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    registry = Registry.discover()
    config = _load(args, registry)
    if config is None:
        return 1
    try:
        gateway = build(config, registry=registry, listed=args.connect)
    except PluginError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1
    problems = connector_problems(gateway.services.connectors)
    if args.connect and not problems:
        problems = connection_problems(gateway.services.connectors)
        problems += gateway.listing_problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    if args.dump:
        print(dump_config(config), end="")
        return 0
    print(f"{args.config}: OK — {config.broker.name}, spec {config.broker.spec}")
    print("\nroutes:")
    base = config.server.base_path
    width = max(len(base + route.path) for route in gateway.routes) + 2
    for route in gateway.routes:
        for method, operation in route.operations:
            auth = route.auth or "public"
            if route.auth == "data" and config.auth.data.mode == "none":
                auth = "public (data auth off)"
            print(f"  {method:<7}{base + route.path:<{width}}{auth:<24}{operation}")
    print("\nconnectors:")
    if not gateway.services.connectors:
        print("  (none)")
    for name, connector in gateway.services.connectors.items():
        roles = ", ".join(sorted(r.value for r in connector.roles))
        print(f"  {name:<20}{connector.kind:<20}{roles}")
    return 0


def startable(
    args: argparse.Namespace, registry: Registry
) -> tuple[GatewayConfig | None, Any, list[str]]:
    """Load and check the configuration as ``serve`` does before it starts anything.

    The configuration (None when it does not load), the gateway built from it (not started),
    and every problem found; a reload on SIGHUP runs the same checks.
    """
    try:
        config = load_config(args.config, variables=_vars(args.var), registry=registry)
    except ConfigError as exc:
        return None, None, [str(problem) for problem in exc.problems]
    try:
        gateway = build(config, registry=registry)  # fail here, not in every worker
    except PluginError as exc:
        return config, None, [f"{args.config}: {exc}"]
    problems = connector_problems(gateway.services.connectors)
    # Declared queries are tried against their databases before serving: a broken mapping
    # stops the start, instead of failing on some request later.
    problems = problems or [
        *connection_problems(gateway.services.connectors),
        *gateway.listing_problems,
    ]
    return config, gateway, problems


def cmd_serve(args: argparse.Namespace) -> int:
    """Validate, then run gunicorn; a configuration with problems never starts."""
    log_format()  # a wrong GATEWAY_LOG_FORMAT stops the start with its reason
    registry = Registry.discover()
    config, gateway, problems = startable(args, registry)
    if config is None or gateway is None or problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    from gateway.serving import WORKER_CLASSES, GatewayApplication

    options: dict[str, object] = {"bind": args.bind}
    if args.worker_class:
        options["worker_class"] = WORKER_CLASSES[args.worker_class]
    if args.workers:
        options["workers"] = args.workers
    sessions = [
        name
        for name, connector in gateway.services.connectors.items()
        if getattr(connector, "single_process", False)
    ]
    clustered = config.cluster.redis is not None
    if not clustered and (config.market.feeds or sessions) and (args.workers or 0) != 1:
        # Without the Redis bus, ticks and order events do not travel between processes: one
        # process owns the feed and any upstream session (a FIX session admits one logon) and
        # serves every stream; its threads hold the long-lived connections.
        if args.workers and args.workers > 1:
            what = f"the session of {', '.join(sessions)}" if sessions else "market data"
            print(
                f"gateway: {what} is served by one worker process (--workers ignored; "
                "configure cluster.redis to run several)",
                file=sys.stderr,
            )
        options["workers"] = 1

    def reload() -> tuple[GatewayConfig | None, list[str]]:
        fresh, _gateway, problems = startable(args, Registry.discover())
        return (None if problems else fresh), problems

    given = os.environ.get(MULTIPROC_ENV)
    metrics_dir = prepare_multiprocess_dir()  # the workers inherit it and write their values there
    master = os.getpid()
    try:
        GatewayApplication(config, options, reload=reload).run()
    finally:
        # gunicorn's workers are forks of this process, and a worker's exit unwinds this very
        # stack in the worker: only the master may remove what all workers share.
        if os.getpid() == master and given is None:
            remove_multiprocess_dir(metrics_dir)
            os.environ.pop(MULTIPROC_ENV, None)
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a salted hash for the users list; the password is read, never an argument."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("gateway: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("gateway: empty password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the configuration's JSON Schema."""
    if args.format == "markdown":
        print(config_reference(), end="")
        return 0
    schema = config_json_schema(Registry.discover())
    if args.format == "yaml":
        print(yaml.safe_dump(schema, sort_keys=False, allow_unicode=True), end="")
    else:
        print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="gateway", description="TradingView broker gateway.")
    p.add_argument("--version", action="version", version=f"gateway {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def config_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("config", help="the gateway YAML file (.yaml, or .yaml.j2 template)")
        sp.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="template variable, repeatable",
        )

    serve = sub.add_parser("serve", help="serve the API with gunicorn")
    config_arg(serve)
    serve.add_argument("--bind", type=_bind, default="127.0.0.1:8080", help="HOST:PORT")
    serve.add_argument("--workers", type=_positive, default=None, help="worker processes")
    serve.add_argument(
        "--worker-class",
        choices=("gevent", "threads"),
        default=None,
        help="gevent (default: a greenlet per connection) or threads (a thread per request "
        "in progress, 128 per worker; for connectors whose libraries block gevent)",
    )
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="validate a configuration and list what it serves")
    config_arg(check)
    check.add_argument("--render", action="store_true", help="print the rendered template")
    check.add_argument(
        "--dump", action="store_true", help="print the effective configuration, secrets masked"
    )
    check.add_argument(
        "--connect",
        action="store_true",
        help="also try every declared query against the connectors' databases (read-only)",
    )
    check.set_defaults(func=cmd_check)

    db = sub.add_parser("db", help="the store's schema: show its revision or upgrade it")
    config_arg(db)
    db.add_argument(
        "action", choices=("upgrade", "current"), help="upgrade to the newest revision, or show"
    )
    db.set_defaults(func=cmd_db)

    hp = sub.add_parser("hash-password", help="hash a password read from the terminal or stdin")
    hp.set_defaults(func=cmd_hash_password)

    schema = sub.add_parser("schema", help="print the JSON Schema of the configuration")
    schema.add_argument(
        "--format",
        choices=("json", "yaml", "markdown"),
        default="json",
        help="markdown prints the configuration reference",
    )
    schema.set_defaults(func=cmd_schema)

    add_commands(sub)
    add_conformance(sub)
    # Commands that connectors ship (e.g. the fix connector's venue simulator), registered
    # through entry points like the connectors themselves: the core never imports them.
    for entry in importlib.metadata.entry_points(group="broker_gateway.commands"):
        entry.load()(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (`gateway check ... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
